// The series a model knows, as the form's other source: pick one and the page draws its
// stored history (`GET .../series/{id}`, with its periods), its forecast by id (`POST
// .../predict` with `series_id`, dated by the API) and its test accuracy against the
// seasonal naive. Shown only when the model has a table of series (its `/series`
// answers); a model trained before tables existed keeps the paste-only form.

import { api } from "./api.js";
import { h, table } from "./dom.js";
import { BASELINE_NAMES, formatScore, formatShare } from "./format.js";
import { createPicker } from "./picker.js";

const $ = (id) => document.getElementById(id);
let generation = 0;
let last = null; // the detail of the series forecast last: {key, detail}
const handlers = { onPick: () => {} };

const picker = createPicker({
  input: $("series-search"),
  list: $("series-list"),
  status: $("series-status"),
  more: $("series-more"),
  onPick: (id) => handlers.onPick(id),
});

/** `onPick(id)`: what picking a series does (the page forecasts it). */
export function onPick(callback) {
  handlers.onPick = callback;
}

/** Which source the form forecasts: "known" (a series the model knows) or "paste". */
export function source() {
  return !$("source").hidden && $("source-known").checked ? "known" : "paste";
}

function showSource() {
  const known = source() === "known";
  $("known-field").hidden = !known;
  $("drop-zone").hidden = known;
  $("evaluate-button").hidden = known; // a known series' test accuracy comes with its forecast
}

for (const radio of document.querySelectorAll("input[name='source']")) {
  radio.addEventListener("change", showSource);
}

let configured = Promise.resolve(false);

/** Show the picker for `card`'s model if it knows series; resolves to whether it does. */
export function configureSeries(card) {
  configured = configure(card);
  return configured;
}

async function configure(card) {
  const mine = ++generation;
  last = null;
  $("source").hidden = true;
  showSource();
  if (!(card.data.series >= 1)) return false; // a card from before series were counted
  try {
    await picker.open((query) => api.series(card.name, query));
  } catch {
    return false; // 422: trained before versions kept their series; pasting works as before
  }
  if (mine !== generation) return false;
  $("source-count").textContent = `(${card.data.series} in ${card.name})`;
  $("source").hidden = false;
  // A catalog is picked from; a model of one series keeps pasting first (its one series
  // is a click away), as the page worked before versions kept their series.
  $(card.data.series > 1 ? "source-known" : "source-paste").checked = true;
  showSource();
  return true;
}

/** Pick `id` as a click on it in the list would (the card's worst series use this). */
export async function choose(id, options = {}) {
  if (!(await configured)) return;
  $("source-known").checked = true;
  showSource();
  await picker.choose(id, options);
}

/** The picked series' id, or null. */
export function picked() {
  const id = $("series-search").value.trim();
  return id === "" ? null : id;
}

/**
 * Forecast the series `id` by id; resolves to `{answer, input}` for results.js's
 * showForecast (the history with its periods, the forecast's periods the API's own).
 */
export async function forecastSeries(card, id, horizon, levels) {
  const key = `${card.name}/${card.version}/${id}`;
  let [detail, answer] = await Promise.all([
    last?.key === key ? last.detail : api.seriesDetail(card.name, id),
    api.predict(card.name, { series_id: id, horizon, levels }),
  ]);
  // The history ends with the actuals posted since the version's data ends; a kept one
  // from before more were posted no longer meets the forecast: read it again.
  if (answer.periods[0] !== detail.next_period) detail = await api.seriesDetail(card.name, id);
  last = { key, detail };
  const stored = detail.history.length - detail.posted;
  const posted = detail.posted ? ` and the ${detail.posted} actual(s) posted since` : "";
  const input = {
    values: detail.history,
    periods: { labels: detail.periods, next: () => answer.periods },
    from: `the ${stored} stored values of ${id} (${detail.periods[0]} to ${detail.last_period})${posted}`,
  };
  return { answer, input, detail };
}

/** The series' one-step test accuracy, the model's and the seasonal naive's, and coverage. */
export function showAccuracy(detail, card) {
  const box = $("forecast-accuracy");
  const t = detail?.test;
  if (!t?.points) {
    box.replaceChildren(detail ? h("p", { class: "note" }, `${detail.series_id} has no test points: it ends before the test part.`) : "");
    return;
  }
  const refit = card.training.refit ? " by the evaluation fit (the served weights were refitted on all data after)" : "";
  const beat = t.mase !== null && t.seasonal_naive_mase
    ? ` MASE ${formatScore(t.mase)} against the seasonal naive's ${formatScore(t.seasonal_naive_mase)}:`
      + ` ${t.mase < t.seasonal_naive_mase ? "better" : "not better"} than the baseline.`
    : "";
  const levels = Object.entries(t.coverage);
  box.replaceChildren(
    h("h3", {}, `Test accuracy of ${detail.series_id}`),
    h("p", { class: "note" }, `${t.points} test points after ${detail.train_last_period}, forecast one step ahead${refit}.${beat}`
      + ` Its forecasts use ${formatShare(detail.network_weight)} of the network's correction.`),
    table({
      caption: `${detail.series_id}: the model against its baselines on the same test points (series units)`,
      head: ["", "RMSE", "MAE", "MASE"],
      rows: [
        [`${card.name} version ${card.version}`, formatScore(t.rmse), formatScore(t.mae), formatScore(t.mase)],
        [BASELINE_NAMES.seasonal_naive, formatScore(t.seasonal_naive_rmse), "–", formatScore(t.seasonal_naive_mase)],
        ...(t.pipeline_alone_rmse == null ? [] : [[BASELINE_NAMES.pipeline_alone, formatScore(t.pipeline_alone_rmse), "–", "–"]]),
      ],
      numeric: [1, 2, 3],
    }),
    levels.length
      ? table({
        caption: `${detail.series_id}: interval coverage on the test points, one step ahead`,
        head: ["Level", "Coverage"],
        rows: levels.map(([level, share]) => [`${level} %`, formatShare(share)]),
        numeric: [1],
      })
      : "",
  );
}
