// The card's word on a model of many series (`metrics.panel`): how it does across them
// against the seasonal naive, how its intervals cover from series to series, and its
// worst series, each a button that picks it. And, for every model, which fit the scores
// come from when the served weights were refitted on all the data after scoring.

import { fillList, h, table } from "./dom.js";
import { formatScore, formatShare } from "./format.js";

const $ = (id) => document.getElementById(id);

/** Which fit the card's scores come from (`training.refit`, `training.test_periods`). */
export function fitText(card) {
  const t = card.training;
  const held = t.test_periods ? `the last ${t.test_periods} periods of each series` : "the test part";
  if (t.refit) {
    return `The scores come from the evaluation fit, which held out ${held}. The served weights`
      + " are a refit on all the data after scoring: they were not scored on those periods.";
  }
  return `The scores are the served weights' own, on ${held}, which they did not train on.`;
}

function coverageText([lowest, median, highest]) {
  return `${formatShare(median)} median, ${formatShare(lowest)} lowest, ${formatShare(highest)} highest`;
}

/**
 * Fill the card's panel block: the aggregate and the worst series (`onPick(id)` when one
 * is pressed), or nothing for a model of one series (`panel` null or absent).
 */
// The network against the pipeline without it: a null (an older version) reads as a dash.
function alone(panel) {
  const gm = panel.gm_rmse_to_pipeline_alone;
  if (gm == null) return null;
  return `GM RMSE ratio ${formatScore(gm)}; the network makes ${formatShare(panel.network_hurts)}`
    + " of the series worse (ratio above 1.01)";
}

export function renderPanel(card, onPick) {
  $("card-fit").textContent = fitText(card);
  const box = $("card-panel");
  const panel = card.metrics.panel;
  if (!panel) {
    box.replaceChildren();
    box.hidden = true;
    return;
  }
  const ratio = panel.gm_mase_ratio;
  const verdict = ratio === null ? "" : ratio < 1
    ? " (below 1: better than the seasonal naive)" : " (1 or above: no better than the seasonal naive)";
  const dl = h("dl");
  fillList(dl, [
    ["Series", `${panel.series}${card.data.id_name ? ` (ids in “${card.data.id_name}”)` : ""}`],
    ["GM MASE ratio", `${formatScore(ratio)}${verdict}`],
    ["Mean MASE", formatScore(panel.mean_mase)],
    ["Against its pipeline alone", alone(panel)],
    ...Object.entries(panel.coverage).map(([level, spread]) => [`${level} % coverage`, coverageText(spread)]),
  ]);
  const worst = panel.worst.map((w) => [
    h("button", { type: "button", class: "link", "data-series": w.series_id }, w.series_id),
    formatScore(w.mase),
    formatScore(w.seasonal_naive_mase),
    w.mase === null || !w.seasonal_naive_mase ? "–" : formatScore(w.mase / w.seasonal_naive_mase),
  ]);
  box.replaceChildren(
    h("h3", { id: "panel-title" }, `Across ${panel.series} series`),
    h("p", { class: "note" }, "GM MASE ratio: the geometric mean over the series of each one's MASE"
      + " over its seasonal naive's MASE on the same test points. Coverage: the share of each"
      + " series' test points inside its interval, one step ahead, spread over the series."),
    dl,
    worst.length
      ? table({
        caption: "The worst series by MASE ratio, against the seasonal naive (press one to forecast it)",
        head: ["Series", "MASE", "Naive MASE", "Ratio"],
        rows: worst,
        numeric: [1, 2, 3],
      })
      : "",
  );
  box.hidden = false;
  for (const button of box.querySelectorAll("button[data-series]")) {
    button.addEventListener("click", () => onPick(button.dataset.series));
  }
}
