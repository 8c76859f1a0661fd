// The two charts, drawn by uPlot (vendored under vendor/uplot, pinned in app/ui/package.json).
//
// This module only configures uPlot: x is the position in the series (0..n-1) and its
// axis shows the period labels (or steps relative to the last value); colours come from
// the page's CSS variables, so the charts follow the light or dark scheme and are drawn
// again when it changes. The numbers themselves are always in a table beside the chart.

import { formatNumber } from "./format.js";

const drawn = new Map(); // container element -> { plot, build }
const dark = window.matchMedia("(prefers-color-scheme: dark)");

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function size(el) {
  const width = Math.max(280, el.clientWidth);
  return { width, height: Math.round(Math.min(380, Math.max(240, width * 0.45))) };
}

function axes(labels) {
  const stroke = css("--muted");
  const grid = { stroke: css("--grid"), width: 1 };
  return [
    {
      stroke, grid, ticks: grid, space: 80,
      incrs: [1, 2, 3, 4, 6, 12, 24, 36, 60, 120, 240, 600, 1200, 2400],
      values: (u, splits) => splits.map((i) => labels[i] ?? ""),
    },
    { stroke, grid, ticks: grid, size: 64, values: (u, splits) => splits.map((v) => formatNumber(v)) },
  ];
}

const legendValue = (u, v) => (v == null ? "–" : formatNumber(v));

function line(label, stroke, extra = {}) {
  return { label, stroke, width: 2, points: { show: false }, value: legendValue, ...extra };
}

function render(el, build) {
  drawn.get(el)?.plot.destroy();
  el.replaceChildren();
  const { options, data } = build();
  const plot = new window.uPlot({ ...size(el), ...options }, data, el);
  drawn.set(el, { plot, build });
}

const resize = new ResizeObserver((entries) => {
  for (const entry of entries) {
    const chart = drawn.get(entry.target);
    if (chart) chart.plot.setSize(size(entry.target));
  }
});

dark.addEventListener("change", () => {
  for (const [el, chart] of drawn) render(el, chart.build);
});

function draw(el, build, description) {
  el.setAttribute("aria-label", description);
  render(el, build);
  resize.observe(el);
}

/**
 * History, forecast and one band per interval. `labels` names every x (history, then the
 * forecast steps); the forecast line starts at the last actual value so the two join.
 */
export function forecastChart(el, { labels, history, forecast, intervals }) {
  const n = history.length;
  const x = labels.map((_, i) => i);
  const pad = (values, joined) => [
    ...Array(n - 1).fill(null), joined ? history[n - 1] : null, ...values,
  ];
  const build = () => {
    const series = [
      { label: "period", value: (u, v) => (v == null ? "" : labels[v]) },
      line("history", css("--history")),
      line("forecast", css("--forecast"), { dash: [6, 3] }),
    ];
    const data = [x, [...history, ...Array(forecast.length).fill(null)], pad(forecast, true)];
    const bands = [];
    intervals.forEach((band, i) => {
      const edge = css(`--band-${Math.min(i, 2) + 1}-edge`);
      series.push(line(`${band.level}% upper`, edge, { width: 1 }));
      series.push(line(`${band.level}% lower`, edge, { width: 1 }));
      data.push(pad(band.upper, true), pad(band.lower, true));
      bands.push({ series: [series.length - 2, series.length - 1], fill: css(`--band-${Math.min(i, 2) + 1}`) });
    });
    return { options: { scales: { x: { time: false } }, axes: axes(labels), series, bands }, data };
  };
  const levels = intervals.map((b) => `${b.level}%`).join(" and ");
  const bandsText = intervals.length ? ` with ${levels} prediction bands` : " (no prediction bands)";
  draw(el, build, `Chart of ${n} values of history and a ${forecast.length}-step forecast${bandsText}.`
    + " The numbers are in the table below.");
}

/** Actual values against the one-step-ahead forecasts of the same points. */
export function evaluateChart(el, { labels, actuals, predictions }) {
  const build = () => ({
    options: {
      scales: { x: { time: false } },
      axes: axes(labels),
      series: [
        { label: "period", value: (u, v) => (v == null ? "" : labels[v]) },
        line("actual", css("--history")),
        line("one step ahead", css("--forecast"), { dash: [6, 3] }),
      ],
    },
    data: [labels.map((_, i) => i), actuals, predictions],
  });
  draw(el, build, `Chart of ${actuals.length} actual values against the model's one-step-ahead`
    + " forecasts. The scores are in the table below.");
}

/**
 * Scores by steps ahead: x is the step, one line per entry of `lines`, `{label, values,
 * color (a CSS variable), dash?, width?, dots?}`, with a dot on every score unless `dots`
 * is false (a version scored at one step only is still seen). `share`: the scores are shares (coverage), shown in %.
 */
export function stepsChart(el, { steps, lines, share = false }, description) {
  const show = share ? (v) => `${formatNumber(v * 100, 3)} %` : (v) => formatNumber(v);
  const build = () => {
    const stroke = css("--muted");
    const grid = { stroke: css("--grid"), width: 1 };
    const top = Math.max(...lines.flatMap((l) => l.values.filter((v) => v !== null)), 0);
    return {
      options: {
        scales: {
          x: { time: false, range: () => [steps[0] - 0.25, steps[steps.length - 1] + 0.25] },
          y: { range: () => [0, share ? 1 : (top || 1) * 1.1] },
        },
        axes: [
          { stroke, grid, ticks: grid, incrs: [1, 2, 3, 4, 6, 12, 24], values: (u, splits) => splits.map(String) },
          { stroke, grid, ticks: grid, size: 64, values: (u, splits) => splits.map(show) },
        ],
        series: [
          { label: "step", value: (u, v) => (v == null ? "" : String(v)) },
          ...lines.map((l) => ({
            label: l.label,
            stroke: css(l.color),
            width: l.width ?? 2,
            dash: l.dash,
            points: { show: l.dots ?? true, size: 6, fill: css(l.color) },
            value: (u, v) => (v == null ? "–" : show(v)),
          })),
        ],
      },
      data: [steps, ...lines.map((l) => l.values)],
    };
  };
  draw(el, build, description);
}
