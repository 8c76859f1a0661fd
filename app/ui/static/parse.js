// What the user typed, pasted or dropped, as the `values` the API takes (and periods, if any).
//
// The page does not judge the values: a token that is not a plain decimal number is sent
// as the string it is, so the API's own 422 names it (`values[3]`) and the page shows
// that message. Only the layout is the page's business: plain values, or a table (a CSV)
// whose first column holds the periods and whose values are the first numeric column after.

import { inferPeriods, isPeriod } from "./periods.js";

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const QUOTES = { "\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'" };

const isNumber = (cell) => NUMBER.test(cell);
const unquote = (cell) => cell.trim().replace(/^(["'])(.*)\1$/, "$2").trim();

/** A plain decimal number as a number; anything else stays the string it is. */
export function toValue(token) {
  return isNumber(token) ? Number(token) : token;
}

/** Comma-, semicolon-, space- or newline-separated tokens: `"12, 13 14"` is three values. */
export function parseTokens(text) {
  return text.split(/[\s,;]+/).filter(Boolean).map(toValue);
}

/** Non-empty lines with their line numbers; typographic quotes (the milk CSV's) made plain. */
function lineList(text) {
  const plain = text.replace(/^\uFEFF/, "").replace(/[\u201c\u201d\u2018\u2019]/g, (q) => QUOTES[q]);
  return plain.split(/\r?\n/).map((raw, i) => ({ raw: raw.trim(), number: i + 1 }))
    .filter((line) => line.raw !== "");
}

/** The delimiter on (nearly) every line: a header and a footer may lack it. */
function delimiter(lines) {
  const counts = [",", ";", "\t"].map((d) => [d, lines.filter((l) => l.raw.includes(d)).length]);
  counts.sort((a, b) => b[1] - a[1]);
  return counts[0][1] >= Math.max(1, lines.length - 2) ? counts[0][0] : null;
}

/**
 * Rows of a table, `{header, rows: [{cells, number}]}`, or null when the text is plain values.
 * A table has a delimiter on (nearly) every line and either a header line of names or
 * period labels in its first column: `"12, 13"` is two values, `"1962-01,589"` a row.
 */
function asTable(lines) {
  if (lines.length < 2) return null;
  const delim = delimiter(lines);
  if (delim === null) return null;
  const rows = lines.map((line) => ({ number: line.number, cells: line.raw.split(delim).map(unquote) }));
  const named = rows[0].cells.every((cell) => !isNumber(cell) && !isPeriod(cell));
  const header = named ? rows.shift().cells : null;
  if (!rows.length || Math.max(...rows.map((r) => r.cells.length)) < 2) return null;
  const labelled = rows.filter((r) => isPeriod(r.cells[0]) && !isNumber(r.cells[0])).length;
  return header || labelled >= rows.length / 2 ? { header, rows } : null;
}

/** Column 0 holds the periods (or an index); the values are the first numeric column after. */
function valueColumn(rows) {
  const width = Math.max(...rows.map((r) => r.cells.length));
  for (let col = 1; col < width; col += 1) {
    if (rows.filter((r) => isNumber(r.cells[col] ?? "")).length >= rows.length / 2) return col;
  }
  return 1;
}

function fromTable({ header, rows }, notes) {
  const labelled = rows.filter((r) => isPeriod(r.cells[0])).length >= rows.length / 2;
  if (labelled) {
    // A text footer after the data ("Monthly milk production ...") is not a value.
    let end = rows.length;
    while (end > 0 && !isPeriod(rows[end - 1].cells[0])) end -= 1;
    if (end < rows.length) notes.push(`skipped ${rows.length - end} footer line(s)`);
    rows = rows.slice(0, end);
  }
  const col = valueColumn(rows);
  if (header?.[col]) notes.push(`values from column “${header[col]}”`);
  const labels = labelled ? rows.map((r) => r.cells[0]) : null;
  let periods = null;
  if (labels) {
    const inferred = inferPeriods(labels);
    const span = `${labels[0]} to ${labels[labels.length - 1]}`;
    notes.push(inferred.frequency ? `${span}, ${inferred.frequency}` : `periods not used: ${inferred.reason}`);
    periods = inferred.frequency ? { labels, ...inferred } : null;
  }
  return {
    values: rows.map((r) => toValue(r.cells[col] ?? "")),
    lines: rows.map((r) => r.number),
    periods,
    notes,
  };
}

function fromValues(lines, notes) {
  // One column under a name ("Production"): the name is a header, not a value.
  const name = lines.length > 1 && !/[\s,;]/.test(lines[0].raw) ? unquote(lines[0].raw) : "";
  const rest = lines.slice(1).flatMap((line) => parseTokens(line.raw));
  if (name && !isNumber(name) && rest.every((value) => typeof value === "number")) {
    notes.push(`values from column “${name}”`);
    lines = lines.slice(1);
  }
  const values = [];
  const where = [];
  for (const line of lines) {
    for (const value of parseTokens(line.raw)) {
      values.push(value);
      where.push(line.number);
    }
  }
  return { values, lines: where, periods: null, notes };
}

/**
 * The series in `text`: `{values, lines, periods, notes}`. `lines[i]` is the line that gave
 * `values[i]` (for error messages); `periods` is `{labels, frequency, next(n)}` or null.
 */
export function parseSeries(text) {
  const lines = lineList(text);
  const table = asTable(lines);
  return table ? fromTable(table, []) : fromValues(lines, []);
}

/** The horizon as typed: a number when it is one, else the text itself, for the API to judge. */
export function parseHorizon(text) {
  const token = text.trim();
  return token === "" ? null : toValue(token);
}

/**
 * Actuals to post, from lines of `series_id,period,value` (a header line is optional) or,
 * for a model of one series (`onlyId`), `period,value`: `{rows, lines, notes, error}`.
 * `lines[i]` is the line of `rows[i]` (for the API's errors); `error` is a layout the page
 * cannot read, naming its line. A value or period is not judged here: the API's 422 names it.
 */
export function parseObservations(text, onlyId = null) {
  const all = lineList(text);
  const notes = [];
  if (!all.length) return { rows: [], lines: [], notes, error: "Paste or read a CSV of actuals first." };
  const delim = delimiter(all) ?? ",";
  const table = all.map((line) => ({ number: line.number, cells: line.raw.split(delim).map(unquote) }));
  const first = table[0].cells;
  if (!isNumber(first.at(-1)) && !isPeriod(first.at(-2) ?? "")) {
    notes.push(`skipped the header line “${all[0].raw}”`);
    table.shift();
  }
  const layout = onlyId === null ? "series_id,period,value" : "series_id,period,value or period,value";
  const rows = [];
  const lines = [];
  const bad = [];
  for (const { number, cells } of table) {
    const [id, period, value] = cells.length === 2 && onlyId !== null ? [onlyId, ...cells] : cells;
    if (cells.length === 3 || (cells.length === 2 && onlyId !== null)) {
      rows.push({ series_id: id, period, value: toValue(value) });
      lines.push(number);
    } else {
      bad.push(`line ${number} has ${cells.length} cell(s)`);
    }
  }
  const error = bad.length
    ? `${bad.slice(0, 3).join(", ")}${bad.length > 3 ? ` and ${bad.length - 3} more lines too` : ""}: expected ${layout}.`
    : (rows.length ? null : "No rows of actuals: only a header line.");
  return { rows, lines, notes, error };
}
