// Actuals posted back from the page: a CSV pasted or read from a file, parsed here
// (parse.js), posted to `POST .../observations` in batches the API takes whole: at most
// its 100,000 rows, and at most the service's default body limit of JSON (1 MiB, some
// 15,000 rows), halved and sent again after a 413 from a service configured lower (a
// refused body stores nothing). Each batch is stored whole or not at all; when the API
// refuses one, its errors are shown with the CSV line each row came from, and what
// earlier batches stored is said, not hidden.

import { api } from "./api.js";
import { parseObservations } from "./parse.js";

/** Rows per request: the API's limit (MAX_OBSERVATIONS in app/v1/observations.py). */
export const BATCH = 100_000;
/** JSON bytes per request at first: FORECAST_MAX_BODY_BYTES's default (app/settings.py). */
export const BODY_BYTES = 1_048_576;
const ENVELOPE = '{"observations":[]}'.length;
const encoder = new TextEncoder();
const SHOWN_ERRORS = 5; // lines named on the page; the count says how many more
const IN_THE_BOX = 1_000_000; // bytes: a larger file is posted without being shown

const $ = (id) => document.getElementById(id);
const count = (n) => n.toLocaleString("en");
const sentence = (text) => (/[.!?…]$/.test(text) ? text : `${text}.`);
const state = { card: null, onlyId: null, file: null, onStored: () => {}, onUnauthorized: () => {} };

/**
 * Wire the form. `onStored(stored)` runs after every batch was stored (the page refreshes
 * its live accuracy); `onUnauthorized(message)` when the API asks for a key.
 */
export function init({ onStored, onUnauthorized }) {
  Object.assign(state, { onStored, onUnauthorized });
}

function setHint(card, onlyId) {
  const one = onlyId === null ? ""
    : ` For ${card.name}, a model of one series, period,value lines will do (its series is “${onlyId}”).`;
  $("actuals-hint").textContent = "CSV lines of series_id,period,value, as in the training file's"
    + " long format (a header line is optional); periods as the forecasts name them."
    + ` A large file is posted in batches, each stored whole or not at all.${one}`;
}

/** The form for `card`'s model: its one series' id, when it has one, for period,value lines. */
export async function configure(card) {
  Object.assign(state, { card, onlyId: null, file: null });
  clear();
  $("actuals").value = "";
  $("actuals-file").value = "";
  $("actuals-note").textContent = "";
  setHint(card, null);
  if (card.data.series !== 1) return;
  try {
    const page = await api.series(card.name, { limit: 1 });
    if (state.card === card && page.series.length === 1) {
      state.onlyId = page.series[0].series_id;
      setHint(card, state.onlyId);
    }
  } catch {
    // No table of series: the section is not shown for this model.
  }
}

function clear() {
  $("actuals").removeAttribute("aria-invalid");
  $("actuals-error").textContent = "";
  $("actuals-status").textContent = "";
}

function fail(text) {
  $("actuals").setAttribute("aria-invalid", "true");
  $("actuals-error").textContent = text;
  $("actuals").focus();
}

/** `observations[3].period` in batch `start`: the CSV line, the value sent and the API's word. */
function describe(error, parsed, start) {
  const at = /^observations\[(\d+)\](?:\.(\w+))?$/.exec(error.field ?? "");
  if (!at) return error.field ? `${error.field}: ${error.message}` : error.message;
  const i = start + Number(at[1]);
  const sent = at[2] ? parsed.rows[i]?.[at[2]] : undefined;
  const raw = sent === undefined ? "" : ` “${sent}”`;
  const batch = start ? ` of the batch from row ${count(start + 1)}` : "";
  return `Line ${count(parsed.lines[i])} (${error.field}${batch}${raw}): ${error.message}`;
}

function refusal(err, parsed, start, end) {
  const named = err.errors.slice(0, SHOWN_ERRORS).map((e) => sentence(describe(e, parsed, start)));
  const more = err.errors.length > SHOWN_ERRORS ? [`… and ${err.errors.length - SHOWN_ERRORS} more.`] : [];
  const said = named.length ? [...named, ...more].join(" ") : sentence(err.message);
  const n = parsed.rows.length;
  const head = start > 0 || end < n
    ? `The batch of lines ${count(parsed.lines[start])} to ${count(parsed.lines[end - 1])} was not stored: `
    : "Not stored: ";
  const before = start ? `The ${count(start)} rows before it were stored` : "Nothing was stored";
  return `${head}${said} ${before}${end < n ? "; the rows after it were not posted" : ""}.`;
}

/** Where the batch from `start` ends: at most BATCH rows and `bytes` of JSON, one row at least. */
function batchEnd(sizes, start, bytes) {
  let end = start;
  let total = ENVELOPE;
  while (end < sizes.length && end - start < BATCH && total + sizes[end] <= bytes) {
    total += sizes[end];
    end += 1;
  }
  return Math.max(end, start + 1);
}

async function post(parsed) {
  const card = state.card;
  const n = parsed.rows.length;
  const sizes = parsed.rows.map((row) => encoder.encode(JSON.stringify(row)).length + 1); // and a comma
  let bytes = BODY_BYTES;
  let stored = 0;
  let start = 0;
  while (start < n) {
    const end = batchEnd(sizes, start, bytes);
    if (start > 0 || end < n) $("actuals-status").textContent = `Posting rows ${count(start + 1)} to ${count(end)} of ${count(n)}…`;
    try {
      stored += (await api.observations(card.name, parsed.rows.slice(start, end))).stored;
      start = end;
    } catch (err) {
      if (err.status === 413 && end - start > 1) {
        bytes = Math.floor(bytes / 2); // the service takes less: the same rows, in smaller batches
        continue;
      }
      $("actuals-status").textContent = "";
      if (err.status === 401) state.onUnauthorized(err.message);
      fail(refusal(err, parsed, start, end));
      return;
    }
  }
  const notes = parsed.notes.length ? ` (${parsed.notes.join("; ")})` : "";
  $("actuals-status").textContent = `Stored ${count(stored)} observation(s) for ${card.name}${notes}.`;
  $("actuals-note").textContent = ""; // "read ..., post it": done
  state.onStored(stored);
}

async function submit(event) {
  event.preventDefault();
  if (!state.card) return;
  clear();
  const text = state.file ? state.file.text : $("actuals").value;
  const parsed = parseObservations(text, state.onlyId);
  if (parsed.error) {
    fail(parsed.error);
    return;
  }
  const button = $("actuals-button");
  button.disabled = true;
  $("actuals-status").textContent = `Posting ${count(parsed.rows.length)} row(s)…`;
  try {
    await post(parsed);
  } finally {
    button.disabled = false;
  }
}

async function readFile(file) {
  if (!file) return;
  const text = await file.text();
  clear();
  if (text.length <= IN_THE_BOX) {
    state.file = null;
    $("actuals").value = text;
    $("actuals-note").textContent = `Read ${file.name}: post it with the button.`;
  } else {
    state.file = { name: file.name, text };
    $("actuals").value = "";
    const rows = parseObservations(text, state.onlyId).rows.length;
    $("actuals-note").textContent = `Read ${file.name}: ${count(rows)} row(s), too many to show;`
      + " post them with the button (typing in the box drops the file).";
  }
}

$("actuals-form").addEventListener("submit", submit);
$("actuals-file").addEventListener("change", (event) => readFile(event.target.files[0]));
$("actuals").addEventListener("input", () => {
  if (state.file) {
    state.file = null;
    $("actuals-file").value = "";
    $("actuals-note").textContent = "";
  }
});
