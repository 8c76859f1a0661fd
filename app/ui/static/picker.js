// A searchable list of the series a model knows, fed page by page by `GET .../series`.
//
// The WAI-ARIA combobox with an inline listbox: the focus stays in the text box, ↓ and ↑
// (Page Down, Page Up: ten at a time) move the active option, announced through
// aria-activedescendant, Enter picks it and Escape clears the search. A catalog of
// thousands is never fetched whole: the list holds one page, and the next is asked for
// when the list is scrolled to its end, when ↓ nears the last loaded option, or when
// "Show more" is pressed. A search waits for a pause in typing and an answer to an older
// search is dropped, so the list always matches the text in the box.

import { h } from "./dom.js";
import { formatScore } from "./format.js";

export const PAGE = 50;
const PAUSE_MS = 150;

function optionText(s) {
  const meta = [`${s.first_period} to ${s.last_period}`, `${s.points} points`];
  if (s.test.mase !== null) {
    meta.push(`test MASE ${formatScore(s.test.mase)}, seasonal naive ${formatScore(s.test.seasonal_naive_mase)}`);
  }
  return meta.join(" · ");
}

/**
 * Wire the picker's elements. `onPick(id)` is called when a series is picked. Returns
 * `open(fetchPage)` (a new catalog: resolves with the first page, rejects with the API's
 * error) and `choose(id, {silent})` (search for the id and pick it, as a click would).
 */
export function createPicker({ input, list, status, more, onPick }) {
  let fetchPage = null;
  let items = [];
  let total = 0;
  let search = "";
  let active = -1;
  let picked = null;
  let generation = 0;
  let loading = null;
  let searching = Promise.resolve();
  let timer = null;
  let keys = Promise.resolve(); // keys are handled one after another, each on the list it sees

  const optionId = (i) => `${list.id}-${i}`;

  function describe() {
    const quoted = search ? ` ${total === 1 ? "matches" : "match"} “${search}”` : "";
    status.textContent = total === 0
      ? (search ? `No series matches “${search}”.` : "This model lists no series.")
      : `${total} series${quoted}${items.length < total ? `; the first ${items.length} are listed` : ""}.`;
    input.setAttribute("aria-expanded", String(items.length > 0));
    list.hidden = items.length === 0;
    more.hidden = items.length >= total;
    more.textContent = `Show ${Math.min(PAGE, total - items.length)} more`;
  }

  function setActive(i) {
    list.querySelector("[aria-selected='true']")?.setAttribute("aria-selected", "false");
    active = i;
    if (i < 0) {
      input.removeAttribute("aria-activedescendant");
      return;
    }
    const li = document.getElementById(optionId(i));
    li.setAttribute("aria-selected", "true");
    input.setAttribute("aria-activedescendant", li.id);
    li.scrollIntoView({ block: "nearest" });
    if (i >= items.length - 5) loadMore();
  }

  function render(series, start) {
    return series.map((s, k) => h("li", {
      id: optionId(start + k),
      role: "option",
      "aria-selected": "false",
      "data-series": s.series_id,
      class: s.series_id === picked ? "picked" : null,
    }, h("span", { class: "series-id" }, s.series_id), h("span", { class: "meta" }, optionText(s))));
  }

  /** Ask for a page: the first of a new search (`reset`), or the one after those listed. */
  function load(reset) {
    if (!reset && (loading || items.length >= total)) return loading ?? Promise.resolve();
    const mine = reset ? ++generation : generation;
    const offset = reset ? 0 : items.length;
    const pending = fetchPage({ search, offset, limit: PAGE }).then((page) => {
      if (mine !== generation) return page;
      if (reset) {
        items = [];
        list.replaceChildren();
        list.scrollTop = 0;
        setActive(-1);
      }
      total = page.total;
      list.append(...render(page.series, items.length));
      items.push(...page.series);
      describe();
      return page;
    }).finally(() => {
      if (loading === pending) loading = null;
    });
    loading = pending;
    return pending;
  }

  function loadMore() {
    return load(false).catch((err) => {
      status.textContent = `Could not list more series: ${err.message}`;
    });
  }

  function searchNow() {
    clearTimeout(timer);
    timer = null;
    search = input.value.trim();
    searching = load(true).catch((err) => {
      status.textContent = `Could not search the series: ${err.message}`;
    });
    return searching;
  }

  /** The list for the text in the box: a search still waiting for a pause is sent now. */
  function current() {
    return input.value.trim() === search ? searching : searchNow();
  }

  function pick(i, { silent = false } = {}) {
    const id = items[i].series_id;
    picked = id;
    input.value = id;
    list.querySelector(".picked")?.classList.remove("picked");
    document.getElementById(optionId(i)).classList.add("picked");
    setActive(i);
    if (!silent) onPick(id);
  }

  async function move(to) {
    if (!items.length) return;
    if (to >= items.length && items.length < total) await loadMore();
    setActive(Math.max(0, Math.min(to, items.length - 1)));
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    status.textContent = "Searching…";
    timer = setTimeout(searchNow, PAUSE_MS);
  });

  async function enter() {
    const exact = items.findIndex((s) => s.series_id === input.value.trim());
    const chosen = active >= 0 ? active : (exact >= 0 ? exact : (items.length === 1 ? 0 : -1));
    if (chosen >= 0) pick(chosen);
    else if (items.length) status.textContent = "Choose a series with ↓ and ↑, then press Enter.";
  }

  input.addEventListener("keydown", (event) => {
    const steps = { ArrowDown: 1, ArrowUp: -1, PageDown: 10, PageUp: -10 }[event.key];
    let work = null;
    if (steps !== undefined) {
      work = () => move(active < 0 && steps > 0 ? 0 : active + steps);
    } else if (event.key === "Enter") {
      work = enter; // Enter picks here; it does not submit the form
    } else if (event.key === "Escape" && input.value) {
      input.value = "";
      work = () => {};
    }
    if (work === null) return;
    event.preventDefault();
    keys = keys.then(current).then(work).catch(() => {});
  });

  list.addEventListener("click", (event) => {
    const li = event.target.closest("li[role='option']");
    if (!li) return;
    pick(items.findIndex((s) => s.series_id === li.dataset.series));
    input.focus();
  });

  list.addEventListener("scroll", () => {
    if (list.scrollTop + list.clientHeight >= list.scrollHeight - 48) loadMore();
  });

  more.addEventListener("click", async () => {
    await loadMore();
    if (more.hidden) input.focus(); // the button is gone: back to the box, not to the page
  });

  return {
    open(fetcher) {
      fetchPage = fetcher;
      picked = null;
      input.value = "";
      search = "";
      total = 0;
      items = [];
      list.replaceChildren();
      return load(true);
    },
    /** Search for `id` and pick it; `silent`: without calling onPick. */
    async choose(id, { silent = false } = {}) {
      input.value = id;
      await searchNow();
      const i = items.findIndex((s) => s.series_id === id);
      if (i >= 0) pick(i, { silent });
    },
  };
}
