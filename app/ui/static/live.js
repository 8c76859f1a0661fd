// Live accuracy, as `GET .../accuracy` gives it: every forecast of a series by its id is
// recorded, and scored once its actual is posted. Shown per version: one step ahead beside
// the version's scores on its test part at training time; by steps ahead in two charts
// (RMSE and coverage) and a table of their numbers; and the anomalies, actuals outside
// their 95 % band. The API scores per version and step, not per period, so "over time"
// is the `since` filter: the same view for the forecasts of a period on.

import { api } from "./api.js";
import { stepsChart } from "./chart.js";
import { h, table } from "./dom.js";
import { formatNumber, formatScore, formatShare, formatTime } from "./format.js";

const $ = (id) => document.getElementById(id);
const CHARTED = 3; // versions drawn, newest first; the tables list every one
const LEVELS = ["80", "95"];
// `since`: asked for; `shown`: the since of the view on the page (kept when `since` is refused)
const state = { card: null, since: null, shown: null, generation: 0, onPick: () => {}, onUnauthorized: () => {} };

/** `onPick(id)`: an anomaly's series pressed; `onUnauthorized(message)`: the API wants a key. */
export function init({ onPick, onUnauthorized }) {
  Object.assign(state, { onPick, onUnauthorized });
}

/** Hide the section: the model has no table of series, so nothing of it is recorded. */
export function hide() {
  state.card = null;
  state.generation += 1;
  $("live").hidden = true;
}

/** Show `card`'s model's live accuracy, over every period. */
export function show(card) {
  state.card = card;
  state.since = null;
  state.shown = null;
  $("live-since").value = "";
  sinceError("");
  $("live-title").textContent = `Live accuracy of ${card.name}`;
  $("live").hidden = false;
  return refresh();
}

function sinceError(text) {
  $("live-since-error").textContent = text;
  if (text) $("live-since").setAttribute("aria-invalid", "true");
  else $("live-since").removeAttribute("aria-invalid");
}

function blank(status) {
  $("live-status").textContent = status;
  $("live-summary").replaceChildren();
  $("live-charts").hidden = true;
  $("live-steps-box").hidden = true;
  $("live-anomalies").replaceChildren();
}

/** Ask the ledger again (after actuals were stored, or a forecast recorded). */
export async function refresh() {
  const card = state.card;
  if (!card) return;
  const mine = ++state.generation;
  let answer;
  try {
    answer = await api.accuracy(card.name, { since: state.since });
  } catch (err) {
    if (mine !== state.generation) return;
    const since = err.errors.find((e) => e.field === "since");
    if (since) {
      state.since = state.shown; // refreshes go on with the view shown
      sinceError(`${since.message}.`);
      $("live-since").focus();
      return;
    }
    if (err.status === 401) state.onUnauthorized(err.message);
    blank(err.status === 503
      ? `No live accuracy: ${err.message}. Posting actuals needs the ledger too.`
      : `Could not read the live accuracy: ${err.message}`);
    return;
  }
  if (mine === state.generation) render(answer, card);
}

const total = (answer, key) => answer.versions.reduce(
  (sum, v) => sum + v.steps.reduce((s, step) => s + step[key], 0), 0);

function statusText(answer) {
  const more = answer.pending
    ? ` ${answer.pending} more forecast value(s) are recorded but not counted yet (the service counts them in the background).`
    : "";
  return counted(answer) + more;
}

function counted(answer) {
  const from = answer.since ? ` for ${answer.since} on` : "";
  const recorded = total(answer, "recorded");
  const scored = total(answer, "n");
  if (!answer.versions.length) {
    return answer.since
      ? `No forecasts recorded${from}.`
      : "Nothing recorded yet: forecast a series by its id, then post its actuals below.";
  }
  if (!scored) return `No actuals yet: post them below. ${recorded} recorded forecast(s)${from} wait for theirs (each step ahead counts once).`;
  return `${scored} of ${recorded} recorded forecasts${from} scored against their actuals (each step ahead counts once).`;
}

const scores = (s) => (s
  ? [formatScore(s.rmse), formatScore(s.mae), formatScore(s.mase), ...LEVELS.map((lv) => formatShare(s.coverage[lv]))]
  : ["–", "–", "–", "–", "–"]);

function summary(answer) {
  const rows = answer.versions.flatMap((v) => {
    const first = v.steps.find((s) => s.step === 1);
    const live = [`Version ${v.version}, live`, String(first?.n ?? 0), ...scores(first)];
    return v.training
      ? [live, [`Version ${v.version}, test part`, String(v.training.n), ...scores(v.training)]]
      : [live];
  });
  const since = answer.versions.map((v) => `version ${v.version}${v.served ? " (served)" : ""} since ${formatTime(v.live_since)}`);
  return [
    h("p", { class: "note" }, `Live: ${since.join(", ")}.`),
    table({
      caption: "One step ahead: each version live, beside its scores on its test part at training time"
        + " (series units; n: forecasts scored, or test points)",
      head: ["", "n", "RMSE", "MAE", "MASE", "80 % coverage", "95 % coverage"],
      rows,
      numeric: [1, 2, 3, 4, 5, 6],
    }),
  ];
}

function stepsTable(answer) {
  return table({
    caption: "Live scores by steps ahead, every version (series units)",
    head: ["Version", "Step", "Recorded", "Scored", "RMSE", "MAE", "MASE", "80 % coverage", "95 % coverage", "95 % Winkler"],
    rows: answer.versions.flatMap((v) => v.steps.map((s) => [`Version ${v.version}`, String(s.step), String(s.recorded),
      String(s.n), ...scores(s), formatScore(s.winkler["95"])])),
    numeric: [1, 2, 3, 4, 5, 6, 7, 8, 9],
  });
}

/**
 * The RMSE and coverage charts of the newest versions scored, by the steps ahead scored;
 * false (nothing drawn) for one step only, which the table above already says in full.
 */
function charts(answer, card) {
  const versions = answer.versions.filter((v) => v.steps.some((s) => s.n > 0)).slice(0, CHARTED);
  const scored = versions.flatMap((v) => v.steps.filter((s) => s.n > 0).map((s) => s.step));
  const steps = [...new Set(scored)].sort((a, b) => a - b);
  if (steps.length < 2) return false;
  const at = (v, pick) => steps.map((k) => {
    const s = v.steps.find((x) => x.step === k);
    return s && s.n > 0 ? pick(s) : null;
  });
  const rmse = [];
  const coverage = [];
  versions.forEach((v, i) => {
    const color = `--version-${i + 1}`;
    rmse.push({ label: `version ${v.version} live`, values: at(v, (s) => s.rmse), color });
    const trained = v.served && v.version === card.version ? card.metrics.steps : [];
    if (trained.length) {
      const byStep = new Map(trained.map((s) => [s.step, s.rmse]));
      rmse.push({ label: `version ${v.version} test part`, values: steps.map((k) => byStep.get(k) ?? null), color, dash: [6, 4] });
    }
    coverage.push({ label: `version ${v.version} 95 %`, values: at(v, (s) => s.coverage["95"]), color });
    coverage.push({ label: `version ${v.version} 80 %`, values: at(v, (s) => s.coverage["80"]), color, dash: [6, 4] });
  });
  for (const level of LEVELS) {
    coverage.push({ label: `${level} % aimed at`, values: steps.map(() => Number(level) / 100), color: "--muted", width: 1, dash: [2, 4], dots: false });
  }
  const which = versions.map((v) => v.version).join(", ");
  stepsChart($("live-rmse"), { steps, lines: rmse }, `Chart of the live RMSE of version(s) ${which} by steps ahead`
    + " 1 to " + steps[steps.length - 1] + ", beside the served version's on its test part. The numbers are in the table below.");
  stepsChart($("live-coverage"), { steps, lines: coverage, share: true }, `Chart of the live coverage of the 80 % and 95 %`
    + ` bands of version(s) ${which} by steps ahead, against the levels aimed at. The numbers are in the table below.`);
  $("live-charts-caption").textContent = `Version${versions.length > 1 ? "s" : ""} ${which}, newest first,`
    + " at the steps ahead scored. RMSE: live, solid; dashed, the served version's on its test part at"
    + " training (rolling origin). Coverage: the share of actuals inside the 95 % band, solid, and the"
    + " 80 % band, dashed; dotted, the levels the bands aim at.";
  return true;
}

function anomalies(list) {
  if (!list.total) return [h("p", { class: "note" }, "No anomalies: every actual scored so far is inside its 95 % band.")];
  const latest = list.listed.length < list.total ? `; the latest ${list.listed.length} are listed` : "";
  return [
    h("h3", {}, "Anomalies"),
    h("p", { class: "note" }, `${list.total} actual(s) outside their 95 % band${latest}, newest period first.`),
    table({
      caption: "Actuals outside the 95 % band served with their forecast (press a series to forecast it)",
      head: ["Series", "Period", "Version", "Step", "Forecast", "Actual", "95 % band"],
      rows: list.listed.map((a) => [
        h("button", { type: "button", class: "link", "data-series": a.series_id }, a.series_id),
        a.period, String(a.version), String(a.step), formatNumber(a.forecast), formatNumber(a.actual),
        `${formatNumber(a.lower)} to ${formatNumber(a.upper)}`,
      ]),
      numeric: [2, 3, 4, 5, 6],
    }),
  ];
}

function render(answer, card) {
  state.shown = answer.since;
  sinceError("");
  if (total(answer, "n") === 0) {
    blank(statusText(answer));
    return;
  }
  $("live-status").textContent = statusText(answer);
  $("live-summary").replaceChildren(...summary(answer));
  $("live-charts").hidden = false;
  $("live-charts").hidden = !charts(answer, card);
  $("live-steps").replaceChildren(stepsTable(answer));
  $("live-steps-box").hidden = false;
  const box = $("live-anomalies");
  box.replaceChildren(...anomalies(answer.anomalies));
  for (const button of box.querySelectorAll("button[data-series]")) {
    button.addEventListener("click", () => state.onPick(button.dataset.series));
  }
}

$("live-form").addEventListener("submit", (event) => {
  event.preventDefault();
  state.since = $("live-since").value.trim() || null;
  refresh();
});
