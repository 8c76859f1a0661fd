// The page's wiring: load the models, show the selected card, send the form to the API.
//
// Every request goes through api.js, to the same public endpoints a client uses. When the
// API refuses something, its message is shown next to the control its `errors[].field`
// names (`values[3]` -> the values box) and the result it replaces is hidden, so the page
// never shows a blank or stale chart as if it were an answer.

import * as actuals from "./actuals.js";
import { ApiError, api, hasKey, setKey } from "./api.js";
import { renderCard, renderModels, renderReport } from "./card.js";
import * as known from "./known.js";
import * as live from "./live.js";
import { renderPanel } from "./panel.js";
import { showEvaluation, showForecast } from "./results.js";
import { parseHorizon, parseSeries, parseTokens } from "./parse.js";

const $ = (id) => document.getElementById(id);
const state = { models: [], cards: new Map(), selected: null, card: null };
const CONTROLS = ["series-search", "values", "horizon", "levels"];
const FIELDS = { series_id: "series-search", values: "values", horizon: "horizon", levels: "levels" };

function announce(text) {
  $("announce").textContent = text;
}

// ---- errors, each next to the control it is about -------------------------------------

function clearErrors() {
  for (const id of [...CONTROLS, "api-key"]) {
    $(id).removeAttribute("aria-invalid");
    $(`${id}-error`).textContent = "";
  }
  $("form-error").textContent = "";
}

/** `values[3]` -> "values"; a field the form has no control for -> null (a form-wide error). */
function controlFor(field) {
  return FIELDS[String(field ?? "").split(/[[.]/)[0]] ?? null;
}

/** The API's message, with the line a bad value came from: `values[3] (line 5, “abc”): ...`. */
function describe(error, parsed) {
  const at = /^values\[(\d+)\]$/.exec(error.field ?? "");
  if (!at || !parsed) return error.message;
  const i = Number(at[1]);
  const raw = typeof parsed.values[i] === "string" ? `, “${parsed.values[i]}”` : "";
  return `${error.field} (line ${parsed.lines[i]}${raw}): ${error.message}`;
}

function showError(err, parsed) {
  if (err.status === 401) {
    askForKey(err.message);
    $("form-error").textContent = `${err.message}. Enter a key above, then try again.`;
    return;
  }
  const messages = new Map();
  for (const error of err.errors) {
    const control = controlFor(error.field);
    if (control) messages.set(control, [...(messages.get(control) ?? []), describe(error, parsed)]);
  }
  if (!messages.size) $("form-error").textContent = err.message;
  for (const [control, texts] of messages) {
    $(control).setAttribute("aria-invalid", "true");
    $(`${control}-error`).textContent = texts.join(" ");
  }
  const first = CONTROLS.find((c) => messages.has(c));
  if (first) $(first).focus();
  announce(`Not accepted: ${err.message}`);
}

// ---- the API key ------------------------------------------------------------------------

/** Show the key form. Before any key was tried the API's answer is the reason, not an error. */
function askForKey(message) {
  const panel = $("key-panel");
  const tried = hasKey();
  panel.hidden = false;
  $("key-reason").textContent = tried ? "" : `The API answered: ${message}.`;
  $("api-key-error").textContent = tried ? message : "";
  if (tried) $("api-key").setAttribute("aria-invalid", "true");
  $("api-key").focus();
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  setKey($("api-key").value.trim());
  $("api-key").value = ""; // the key stays in api.js's memory only
  loadModels();
});

// ---- models and the card ----------------------------------------------------------------

async function loadModels() {
  const status = $("models-status");
  status.textContent = "Loading the models…";
  try {
    state.models = await api.models();
  } catch (err) {
    status.textContent = err.status === 401 ? "The models are listed once a valid key is entered." : `Could not list the models: ${err.message}`;
    if (err.status === 401) askForKey(err.message);
    return;
  }
  $("key-panel").hidden = true;
  clearErrors();
  const ready = state.models.filter((m) => m.state === "ready");
  const cards = await Promise.allSettled(ready.map((m) => api.card(m.name)));
  state.cards = new Map(cards.filter((c) => c.status === "fulfilled").map((c) => [c.value.name, c.value]));
  if (!ready.some((m) => m.name === state.selected)) state.selected = ready[0]?.name ?? null;
  renderModels(state.models, state.cards, state.selected, selectModel);
  status.textContent = `${state.models.length} model(s), ${ready.length} ready.`;
  if (state.selected) await selectModel(state.selected, { quiet: true });
}

function configureLevels(card) {
  const levels = $("levels");
  levels.disabled = card.intervals === null;
  $("levels-note").textContent = card.intervals === null
    ? `Intervals unavailable: ${card.name} version ${card.version} has no calibrated intervals.`
    : `Calibrated up to ${card.intervals.horizon} steps ahead.`;
}

async function selectModel(name, { quiet = false } = {}) {
  state.selected = name;
  for (const button of document.querySelectorAll("button[data-model]")) {
    button.setAttribute("aria-pressed", String(button.dataset.model === name));
  }
  try {
    state.card = await api.card(name);
  } catch (err) {
    state.card = null;
    $("card").hidden = true;
    $("models-status").textContent = `Could not read ${name}'s card: ${err.message}`;
    if (err.status === 401) askForKey(err.message);
    return;
  }
  state.cards.set(name, state.card);
  const card = state.card;
  renderCard(card);
  renderPanel(card, (id) => pickFromCard(card, id));
  configureLevels(card);
  $("forecast-result").hidden = true;
  $("evaluate-result").hidden = true;
  live.hide();
  known.configureSeries(card).then((shown) => {
    if (state.card !== card) return;
    if (shown) {
      live.show(card); // only a model that knows its series records forecasts and takes actuals
      actuals.configure(card);
    }
    if (shown && !quiet) announce(`${card.name} knows ${card.data.series} series: search them in the form.`);
  });
  if (!quiet) announce(`Selected ${name}, version ${card.version}.`);
  api.report(name).then(
    (blob) => renderReport(card, blob, null),
    (err) => renderReport(card, null, err.message),
  );
}

// ---- the series form --------------------------------------------------------------------

function preview() {
  const parsed = parseSeries($("values").value);
  const count = parsed.values.length;
  $("values-note").textContent = count ? [`${count} value(s)`, ...parsed.notes].join("; ") : "";
  return parsed;
}

$("values").addEventListener("input", preview);

async function readFile(file) {
  if (!file) return;
  $("values").value = await file.text();
  const parsed = preview();
  announce(`Read ${file.name}: ${parsed.values.length} values.`);
}

$("csv-file").addEventListener("change", (event) => readFile(event.target.files[0]));
const zone = $("drop-zone");
zone.addEventListener("dragover", (event) => {
  event.preventDefault();
  zone.classList.add("dragging");
});
zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
zone.addEventListener("drop", (event) => {
  event.preventDefault();
  zone.classList.remove("dragging");
  readFile(event.dataTransfer.files[0]);
});

/** Forecast the picked series by id; resolves to the sentence announced. */
async function forecastKnown(card, horizon, levels) {
  const id = known.picked();
  if (id === null) throw new ApiError(422, { error: "pick a series first", errors: [{ field: "series_id", message: "Pick a series from the list first." }] });
  const { answer, input, detail } = await known.forecastSeries(card, id, horizon, levels);
  const said = showForecast(answer, input, card);
  known.showAccuracy(detail, card);
  live.refresh(); // the forecast is recorded: the ledger's counts move on
  return said;
}

/** Forecast or evaluate what the form holds; `focus` moves the focus to the answer. */
async function run(action, { focus = false } = {}) {
  clearErrors();
  if (!state.card) {
    $("form-error").textContent = "Choose a ready model first.";
    return;
  }
  const card = state.card;
  const byId = known.source() === "known";
  const parsed = byId ? null : preview();
  const horizon = parseHorizon($("horizon").value);
  // A version without intervals gets none asked for: asking would be refused.
  const levels = card.intervals === null ? [] : parseTokens($("levels").value);
  const section = $(action === "forecast" ? "forecast-result" : "evaluate-result");
  const buttons = document.querySelectorAll("#series-form button[type='submit']");
  buttons.forEach((b) => { b.disabled = true; });
  announce(action === "forecast" ? "Forecasting…" : "Evaluating…");
  try {
    let said;
    if (byId) {
      said = await forecastKnown(card, horizon, levels);
    } else {
      const body = { values: parsed.values, horizon, levels };
      const answer = await (action === "forecast" ? api.predict : api.evaluate)(card.name, body);
      said = action === "forecast" ? showForecast(answer, parsed, card) : showEvaluation(answer, parsed);
      if (action === "forecast") known.showAccuracy(null, card);
    }
    if (state.card !== card) return; // another model was chosen meanwhile
    section.hidden = false;
    announce(said);
    if (focus) section.focus();
  } catch (err) {
    section.hidden = true;
    showError(err instanceof ApiError ? err : new ApiError(0, { error: String(err) }), parsed);
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}

/** A worst series pressed on the card: pick it in the form, forecast it, show the answer. */
async function pickFromCard(card, id) {
  if (state.card !== card) return;
  await known.choose(id, { silent: true });
  await run("forecast", { focus: true });
}

known.onPick(() => run("forecast"));
live.init({ onPick: (id) => pickFromCard(state.card, id), onUnauthorized: askForKey });
actuals.init({ onStored: () => live.refresh(), onUnauthorized: askForKey });

$("series-form").addEventListener("submit", (event) => {
  event.preventDefault();
  run(event.submitter?.dataset.action ?? "forecast");
});

loadModels();
