// The models list and the selected model's card, exactly as `GET /v1/models[/{name}]` give them.

import { fillList, fillTable, h, table } from "./dom.js";
import { BASELINE_NAMES, formatNumber, formatScore, formatShare, formatTime } from "./format.js";

const $ = (id) => document.getElementById(id);

function summary(card) {
  if (!card) return "";
  const { n_points: n, first_period: first, last_period: last, series } = card.data;
  const many = series > 1 ? ` in ${series} series` : "";
  return `${n} points${many}, ${first} to ${last} (${card.data.file_name})`;
}

function stateCell(model) {
  if (model.state === "ready") {
    const refused = Object.entries(model.refused ?? {});
    return refused.length
      ? h("span", {}, "ready", h("br"), h("small", {}, refused.map(([v, why]) => `version ${v} refused: ${why}`).join("; ")))
      : "ready";
  }
  if (model.state === "loading") return `loading: ${model.reason}`;
  return h("span", { class: "failed" }, `failed: ${model.reason ?? "no version could be served"}`);
}

/**
 * The list: one row per model with its served version, state, frequency and data summary.
 * `onSelect(name)` is called when a ready model's button is pressed.
 */
export function renderModels(models, cards, selected, onSelect) {
  const rows = models.map((model) => {
    const card = cards.get(model.name);
    const name = model.state === "ready"
      ? h("button", { type: "button", class: "link", "aria-pressed": String(model.name === selected), "data-model": model.name }, model.name)
      : model.name;
    const version = model.version === null ? "none" : String(model.version);
    const disk = model.versions_on_disk.length ? ` (on disk: ${model.versions_on_disk.join(", ")})` : "";
    return [name, version + disk, stateCell(model), card?.data.frequency ?? "–", summary(card) || "–"];
  });
  const tbl = $("models-table");
  fillTable(tbl, {
    caption: "Every model, its served version and state",
    head: ["Model", "Version", "State", "Frequency", "Data"],
    rows,
  });
  tbl.querySelector("caption").className = "visually-hidden";
  tbl.hidden = false;
  for (const button of tbl.querySelectorAll("button[data-model]")) {
    button.addEventListener("click", () => onSelect(button.dataset.model));
  }
}

function metricsTable(metrics) {
  const row = (label, s, n) => [label, n ?? "", formatScore(s.rmse), formatScore(s.mae),
    s.mape === undefined ? "–" : formatScore(s.mape), s.mase === undefined ? "–" : formatScore(s.mase)];
  const rows = [row("Train", metrics.train, metrics.train.n), row("Test", metrics.test, metrics.test.n)];
  for (const [name, scores] of Object.entries(metrics.baselines)) {
    rows.push(row(BASELINE_NAMES[name] ?? name, scores, metrics.test.n));
  }
  fillTable($("card-metrics"), {
    caption: "The model against its baselines on the same test points (series units; MAPE in %)",
    head: ["", "n", "RMSE", "MAE", "MAPE", "MASE"],
    rows,
    numeric: [1, 2, 3, 4, 5],
  });
}

function intervalsBlock(card) {
  const box = $("card-intervals");
  if (card.intervals === null) {
    box.replaceChildren(h("p", { class: "note" }, `Version ${card.version} has no calibrated intervals: its forecasts come without prediction bands.`));
    return;
  }
  const scores = card.metrics.intervals;
  box.replaceChildren(scores.length
    ? table({
      caption: "Interval coverage on the test part, one step ahead",
      head: ["Level", "Coverage", "Mean width", "Winkler score"],
      rows: scores.map((s) => [`${s.level} %`, formatShare(s.coverage), formatScore(s.mean_width), formatScore(s.winkler)]),
      numeric: [1, 2, 3],
    })
    : h("p", { class: "note" }, "No interval coverage was recorded for this version."));
}

function stepsBlock(card) {
  const steps = card.metrics.steps;
  $("card-steps").replaceChildren(steps.length
    ? table({
      caption: "Test accuracy by steps ahead (rolling origin, no refit)",
      head: ["Step", "n", "RMSE", "MAE"],
      rows: steps.map((s) => [String(s.step), String(s.n), formatScore(s.rmse), formatScore(s.mae)]),
      numeric: [1, 2, 3],
    })
    : "");
}

const layerText = (l) => `${l.kind}(${l.units}, ${l.activation})`;

// What the pipeline does to the series, by kind (see app/contract/differencing.py, seasonal.py).
function transformText(p) {
  if (p.kind === "seasonal") {
    const season = p.season_length > 1
      ? `seasonal index of ${p.seasons} seasons (decay ${p.decay}) removed`
      : "no season";
    return `${p.log ? "logs, " : ""}${season}, windows relative to their last value`;
  }
  return String(p.transform ?? "none").replaceAll("_", " ");
}

// How much of the network's correction the forecasts use, and the validation that chose it.
function networkText(p, choice) {
  if (p.kind !== "seasonal") return "all of it (the pipeline has no forecast without it)";
  const weight = `${formatNumber((p.network_weight ?? 1) * 100, 3)} % of its correction`;
  if (!choice) return weight;
  const [low, median, high] = choice.series_weights;
  const perSeries = low === high ? weight
    : `per series ${formatShare(low)} to ${formatShare(high)} of its correction (median ${formatShare(median)};`
      + ` the pipeline alone for ${formatShare(choice.series_without_network)} of the series)`;
  return `${perSeries}, chosen on ${choice.points} validation forecasts inside the training part`
    + ` (RMSE: pipeline alone ${formatScore(choice.rmse_alone)}, whole network ${formatScore(choice.rmse_network)},`
    + ` chosen ${formatScore(choice.rmse_chosen)}; per series' spread)`;
}

function lists(card) {
  const { pipeline: p, architecture: a, training: t, data: d, intervals: iv } = card;
  fillList($("card-pipeline"), [
    ["Look back", `${p.look_back} steps`],
    ["Transform", transformText(p)],
    ["Scaler", p.scaler],
    ["Season length", String(p.season_length)],
    ["Layers", a.layers.map(layerText).join(" → ")],
    ["Parameters", `${a.parameters}${a.members > 1 ? ` per member, ${a.members} members averaged` : ""}`],
    ["Network", networkText(p, t.network)],
    ["Intervals", iv ? `${iv.method}, ${iv.space} space, calibrated up to ${iv.horizon} steps ahead` : "none"],
  ]);
  fillList($("card-training"), [
    ["Trained", formatTime(card.created_at)],
    ["Preset", t.preset],
    ["Epochs", `${t.epochs_run ?? t.epochs} of ${t.epochs}${t.early_stopping ? " (early stopping)" : ""}`],
    ["Batch size", String(t.batch_size)],
    ["Learning rate", String(t.learning_rate)],
    ["Seed", String(t.seed)],
    ["Took", `${formatNumber(t.wall_seconds)} s`],
    ["Served weights", t.refit ? "a refit on all the data, after scoring" : "the scored fit"],
  ]);
  fillList($("card-data"), [
    ["File", d.file_name],
    ["Frequency", d.frequency],
    ["Series", d.series > 1 ? `${d.series}${d.id_name ? `, ids in “${d.id_name}”` : ""}` : null],
    ["Points", `${d.n_points}: ${d.train_points} train, ${d.test_points} test`],
    ["Test part", t.test_periods ? `the last ${t.test_periods} periods of each series` : null],
    ["Periods", `${d.first_period} to ${d.last_period}`],
    ["Value", d.value_name],
    ["Training range", `${formatNumber(d.train_min)} to ${formatNumber(d.train_max)}`],
  ]);
}

/** The card of the selected model; `report` is a Blob of report.png, or the reason there is none. */
export function renderCard(card) {
  $("card-title").textContent = `${card.name}, version ${card.version}`;
  metricsTable(card.metrics);
  intervalsBlock(card);
  stepsBlock(card);
  lists(card);
  $("card").hidden = false;
}

let reportUrl = null;

export function renderReport(card, blob, reason) {
  const img = $("report-img");
  if (reportUrl) URL.revokeObjectURL(reportUrl);
  reportUrl = blob ? URL.createObjectURL(blob) : null;
  img.hidden = !blob;
  if (blob) {
    img.onerror = () => {
      img.hidden = true;
      $("report-caption").textContent = "No report: report.png could not be read as an image.";
    };
    img.src = reportUrl;
    img.alt = `Training report of ${card.name} version ${card.version}: the series with one-step predictions on the train and test parts`;
  } else {
    img.removeAttribute("src");
  }
  $("report-caption").textContent = blob ? "report.png, written by training" : `No report: ${reason}`;
}
