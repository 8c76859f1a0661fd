// The service's public API, called exactly as any client calls it.
//
// The API key lives in this module's memory and nowhere else: not in the URL, not in
// localStorage or sessionStorage, not in a cookie. Reloading the page forgets it.
// Paths are relative to the page, so the page works behind a proxy's path prefix too.

let apiKey = null;

export function setKey(key) {
  apiKey = key ? key : null;
}

export const hasKey = () => apiKey !== null;

/** A non-2xx answer: the API's `{error, type, errors: [{field, message}]}` and its status. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error || `HTTP ${status}`);
    this.status = status;
    this.type = body?.type ?? "http_error";
    this.errors = Array.isArray(body?.errors) ? body.errors : [];
  }
}

async function call(path, { body, as = "json" } = {}) {
  const headers = { Accept: as === "json" ? "application/json" : "*/*" };
  if (apiKey !== null) headers.Authorization = `Bearer ${apiKey}`;
  const init = { method: body === undefined ? "GET" : "POST", headers, cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, { error: `the service did not answer (${err.message})`, type: "network" });
  }
  if (!response.ok) {
    let detail = null;
    try {
      detail = await response.json();
    } catch {
      // Not JSON (a proxy's page, say): the status line says what happened.
    }
    throw new ApiError(response.status, detail ?? { error: `${response.status} ${response.statusText}` });
  }
  return as === "blob" ? response.blob() : response.json();
}

const model = (name) => `v1/models/${encodeURIComponent(name)}`;

export const api = {
  models: () => call("v1/models"),
  card: (name) => call(model(name)),
  report: (name) => call(`${model(name)}/report.png`, { as: "blob" }),
  predict: (name, body) => call(`${model(name)}/predict`, { body }),
  evaluate: (name, body) => call(`${model(name)}/evaluate`, { body }),
  /** A page of the series a model knows: `{total, offset, series}`; 422 for a model without. */
  series: (name, { search = "", offset = 0, limit = 50 } = {}) => call(
    `${model(name)}/series?${new URLSearchParams({ search, offset: String(offset), limit: String(limit) })}`,
  ),
  seriesDetail: (name, id) => call(`${model(name)}/series/${encodeURIComponent(id)}`),
  /** Live accuracy per version and step, and the anomalies; 503 when the ledger is unavailable. */
  accuracy: (name, { seriesId = null, since = null } = {}) => {
    const query = new URLSearchParams();
    if (seriesId !== null) query.set("series_id", seriesId);
    if (since !== null) query.set("since", since);
    return call(`${model(name)}/accuracy${query.size ? `?${query}` : ""}`);
  },
  /** Store actuals, `[{series_id, period, value}]` (all or none): `{model, version, stored}`. */
  observations: (name, rows) => call(`${model(name)}/observations`, { body: { observations: rows } }),
};
