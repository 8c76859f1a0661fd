// The answers of predict and evaluate: a chart, the numbers in a table, a CSV of the forecast.

import { evaluateChart, forecastChart } from "./chart.js";
import { fillTable, h, table } from "./dom.js";
import { BASELINE_NAMES, formatNumber, formatScore, formatShare } from "./format.js";

const $ = (id) => document.getElementById(id);
let csvUrl = null;

function warnings(id, list) {
  $(id).replaceChildren(...list.map((text) => h("li", {}, text)));
}

/** x labels: the input's periods and the ones after them, or steps relative to the last value. */
function forecastLabels(parsed, horizon) {
  const n = parsed.values.length;
  if (parsed.periods) return [...parsed.periods.labels, ...parsed.periods.next(horizon)];
  return Array.from({ length: n + horizon }, (_, i) => (i < n ? String(i - n + 1) : `+${i - n + 1}`));
}

function csv(answer, periods) {
  const head = [periods ? "period" : "step", "forecast",
    ...answer.intervals.flatMap((b) => [`lower_${b.level}`, `upper_${b.level}`])];
  const rows = answer.forecast.map((value, i) => [periods ? periods[i] : i + 1, value,
    ...answer.intervals.flatMap((b) => [b.lower[i], b.upper[i]])]);
  // String(number) is the shortest text that reads back as the same number: nothing rounded.
  return [head, ...rows].map((row) => row.map(String).join(",")).join("\n") + "\n";
}

function intervalsText(answer, card) {
  if (answer.intervals.length) {
    return `with ${answer.intervals.map((b) => `${b.level} %`).join(" and ")} prediction intervals`;
  }
  if (card.intervals === null) {
    return `intervals unavailable: version ${card.version} has no calibrated intervals`;
  }
  return "without intervals (none asked for)";
}

/**
 * Draw the forecast answer; returns the sentence announced to screen readers. `parsed` is
 * the history: `{values, periods: {labels, next(n)} | null, from?}` (`from` names it).
 */
export function showForecast(answer, parsed, card) {
  const labels = forecastLabels(parsed, answer.horizon);
  const future = parsed.periods ? labels.slice(parsed.values.length) : null;
  const said = `${answer.model} version ${answer.version}: ${answer.horizon} step(s) ahead from`
    + ` ${parsed.from ?? `${parsed.values.length} values`}, ${intervalsText(answer, card)}.`;
  $("forecast-summary").textContent = said;
  warnings("forecast-warnings", answer.warnings);
  forecastChart($("forecast-chart"), {
    labels, history: parsed.values, forecast: answer.forecast, intervals: answer.intervals,
  });
  const levels = answer.intervals;
  fillTable($("forecast-table"), {
    caption: "Forecast, in the series' units",
    head: ["Step", ...(future ? ["Period"] : []), "Forecast",
      ...levels.flatMap((b) => [`${b.level} % lower`, `${b.level} % upper`])],
    rows: answer.forecast.map((value, i) => [String(i + 1), ...(future ? [future[i]] : []),
      formatNumber(value), ...levels.flatMap((b) => [formatNumber(b.lower[i]), formatNumber(b.upper[i])])]),
    numeric: Array.from({ length: 1 + levels.length * 2 }, (_, i) => i + (future ? 2 : 1)),
  });
  if (csvUrl) URL.revokeObjectURL(csvUrl);
  csvUrl = URL.createObjectURL(new Blob([csv(answer, future)], { type: "text/csv" }));
  const link = $("forecast-csv");
  link.href = csvUrl;
  const id = answer.series_id ? `-${answer.series_id.replace(/[^\w.-]+/g, "_")}` : "";
  link.download = `${answer.model}-v${answer.version}${id}-forecast.csv`;
  return said;
}

function scoresTable(answer) {
  const row = (label, s) => (s === null
    ? [label, "–", "–", "–", "–"]
    : [label, formatScore(s.rmse), formatScore(s.mae), formatScore(s.mape), formatScore(s.mase)]);
  const rows = [row(`${answer.model} version ${answer.version}`, answer)];
  for (const [name, scores] of Object.entries(answer.baselines)) {
    const label = BASELINE_NAMES[name] ?? name;
    const why = name === "pipeline_alone"
      ? "none: this model's pipeline has no forecast without its network"
      : "too little history for this baseline";
    rows.push(scores === null ? [label, why, "", "", ""] : row(label, { mape: null, mase: null, ...scores }));
  }
  fillTable($("evaluate-scores"), {
    caption: `Scores on the same ${answer.n} points, one step ahead (series units; MAPE in %)`,
    head: ["", "RMSE", "MAE", "MAPE", "MASE"],
    rows,
    numeric: [1, 2, 3, 4],
  });
}

/** Draw the evaluate answer; returns the sentence announced to screen readers. */
export function showEvaluation(answer, parsed) {
  const n = answer.actuals.length;
  const labels = parsed.periods
    ? parsed.periods.labels.slice(-n)
    : Array.from({ length: n }, (_, i) => String(i - n + 1));
  const said = `${answer.model} version ${answer.version}: ${answer.n} points scored one step`
    + ` ahead, RMSE ${formatScore(answer.rmse)}.`;
  $("evaluate-summary").textContent = said;
  warnings("evaluate-warnings", answer.warnings);
  evaluateChart($("evaluate-chart"), { labels, actuals: answer.actuals, predictions: answer.predictions });
  scoresTable(answer);
  $("evaluate-intervals").replaceChildren(answer.intervals.length
    ? table({
      caption: "Interval coverage on these points, one step ahead",
      head: ["Level", "Coverage", "Mean width", "Winkler score"],
      rows: answer.intervals.map((s) => [`${s.level} %`, formatShare(s.coverage), formatScore(s.mean_width), formatScore(s.winkler)]),
      numeric: [1, 2, 3],
    })
    : "");
  $("evaluate-backtest").replaceChildren(answer.backtest.length > 1
    ? table({
      caption: "Backtest: forecasts 1 to h steps ahead from every origin (no refit)",
      head: ["Step", "n", "RMSE", "MAE"],
      rows: answer.backtest.map((s) => [String(s.step), String(s.n), formatScore(s.rmse), formatScore(s.mae)]),
      numeric: [1, 2, 3],
    })
    : "");
  return said;
}
