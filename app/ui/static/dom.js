// Small DOM builders. Text always goes in as text (never as HTML): model names, reasons and
// error messages come from the server and are shown, not interpreted.

/** `h("td", {class: "num"}, "12")`: an element with attributes and children (text or nodes). */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}

/**
 * Fill `table` with a header row and body rows. Cells are strings or nodes; the first cell of
 * a body row is its header (`<th scope="row">`). `numeric` columns are right-aligned.
 */
export function fillTable(table, { caption, head, rows, numeric = [] }) {
  const cls = (i) => (numeric.includes(i) ? "num" : null);
  table.replaceChildren(
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, head.map((text, i) => h("th", { scope: "col", class: cls(i) }, text)))),
    // data-label: the column's name, shown beside each cell where a narrow screen stacks rows.
    h("tbody", {}, rows.map((row) => h("tr", {}, row.map((cell, i) => (i === 0
      ? h("th", { scope: "row", "data-label": head[i] }, cell)
      : h("td", { class: cls(i), "data-label": head[i] }, cell)))))),
  );
  return table;
}

/** A new table with `spec` (see `fillTable`), wrapped so it scrolls sideways on a phone. */
export function table(spec) {
  return h("div", { class: "scroll" }, fillTable(h("table"), spec));
}

/** Fill a `<dl>` from `[term, description]` pairs, skipping pairs without a description. */
export function fillList(dl, pairs) {
  dl.replaceChildren(...pairs.filter(([, d]) => d !== null && d !== undefined && d !== "")
    .flatMap(([t, d]) => [h("dt", {}, t), h("dd", {}, d)]));
}
