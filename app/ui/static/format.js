// How numbers are shown: six significant digits, the same in tables, legends and axes.
// The CSV download carries the API's numbers unrounded.

/** `854.1191340873542` as `"854.119"`; null (a score the API could not compute) as a dash. */
export function formatNumber(x, digits = 6) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  return String(Number(Number(x).toPrecision(digits)));
}

/** A score (RMSE, MAE, ...) to four significant digits: enough to compare, easy to read. */
export const formatScore = (x) => formatNumber(x, 4);

/** A share (0.875) as a percentage ("87.5 %"). */
export function formatShare(x) {
  return x === null || x === undefined ? "–" : `${formatNumber(x * 100, 4)} %`;
}

/** An ISO timestamp as "2026-11-28 20:02 UTC": the same for every reader, wherever they are. */
export function formatTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** The baselines a model is scored against, by the names the API gives them. */
export const BASELINE_NAMES = {
  persistence: "Persistence (baseline)",
  seasonal_naive: "Seasonal naive (baseline)",
  pipeline_alone: "Pipeline alone (the model without its network)",
};
