// Period labels: which calendar step a series moves by, and the labels of the steps after it.
//
// Reads years (1871), quarters (1990Q1, 1990-Q1), months (1962-01, Jan 1962) and ISO
// dates (2021-01-04: daily, weekly, or month starts/ends), the forms training reads, and
// writes the next labels in the input's own form. Frequencies are named as the model
// card names them: annual, quarterly, monthly, weekly, daily.

const NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const LONG = ["January", "February", "March", "April", "May", "June", "July", "August",
  "September", "October", "November", "December"];
const DAY = 86_400_000;
const BY_MONTHS = { 1: "monthly", 3: "quarterly", 12: "annual" };
const BY_DAYS = { 1: "daily", 7: "weekly" };

const pad = (n, width = 2) => String(n).padStart(width, "0");
const daysIn = (year, month) => new Date(Date.UTC(year, month, 0)).getUTCDate();

function monthName(text) {
  const i = NAMES.indexOf(text.slice(0, 3).toLowerCase());
  const full = LONG[i];
  return i >= 0 && (text.length === 3 || full.toLowerCase() === text.toLowerCase()) ? i : -1;
}

/** One label as `{kind, month, day?, write(month, day?)}`, or null when it is no period. */
export function parsePeriod(label) {
  const text = String(label).trim();
  let m = /^(\d{4})$/.exec(text);
  if (m) return { kind: "year", month: +m[1] * 12, write: (t) => `${Math.floor(t / 12)}` };
  m = /^(\d{4})([- ]?)([Qq])([1-4])$/.exec(text);
  if (m) {
    const [, , sep, q] = m;
    const write = (t) => `${Math.floor(t / 12)}${sep}${q}${Math.floor((t % 12) / 3) + 1}`;
    return { kind: "quarter", month: +m[1] * 12 + (m[4] - 1) * 3, write };
  }
  m = /^(\d{4})([-/.])(\d{1,2})$/.exec(text);
  if (m && +m[3] >= 1 && +m[3] <= 12) {
    const [, , sep, mm] = m;
    const write = (t) => `${Math.floor(t / 12)}${sep}${pad((t % 12) + 1, mm.length)}`;
    return { kind: "month", month: +m[1] * 12 + (m[3] - 1), write };
  }
  m = /^([A-Za-z]+)([ -])(\d{4})$/.exec(text);
  if (m && monthName(m[1]) >= 0) {
    const [, name, sep] = m;
    const names = name.length === 3 ? LONG.map((n) => n.slice(0, 3)) : LONG;
    const write = (t) => `${names[t % 12]}${sep}${Math.floor(t / 12)}`;
    return { kind: "month-name", month: +m[3] * 12 + monthName(name), write };
  }
  m = /^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})$/.exec(text);
  if (m) {
    const [year, month, day] = [+m[1], +m[3], +m[4]];
    if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return null;
    const sep = m[2];
    const write = (t, d) => `${Math.floor(t / 12)}${sep}${pad((t % 12) + 1)}${sep}${pad(d)}`;
    const days = Date.UTC(year, month - 1, day) / DAY;
    const monthEnd = day === daysIn(year, month);
    return { kind: "date", month: year * 12 + month - 1, day, days, monthEnd, write };
  }
  return null;
}

export const isPeriod = (label) => parsePeriod(label) !== null;

function steps(values) {
  return values.slice(1).map((v, i) => v - values[i]);
}

function uneven(diffs, labels) {
  const i = diffs.findIndex((d) => d !== diffs[0]);
  if (i < 0) return null;
  return `uneven steps: ${labels[0]} to ${labels[1]}, but ${labels[i]} to ${labels[i + 1]}`;
}

function dateWriter(last) {
  return (days) => {
    const date = new Date(days * DAY);
    const month = date.getUTCFullYear() * 12 + date.getUTCMonth();
    return last.write(month, date.getUTCDate());
  };
}

function byDays(parsed, labels) {
  const diffs = steps(parsed.map((p) => p.days));
  if (!uneven(diffs, labels) && BY_DAYS[diffs[0]]) {
    const last = parsed[parsed.length - 1];
    const write = dateWriter(last);
    return { frequency: BY_DAYS[diffs[0]], next: (n) => range(n, (k) => write(last.days + k * diffs[0])) };
  }
  const months = steps(parsed.map((p) => p.month));
  const sameDay = parsed.every((p) => p.day === parsed[0].day && p.day <= 28);
  const ends = parsed.every((p) => p.monthEnd);
  if (uneven(months, labels) || !BY_MONTHS[months[0]] || !(sameDay || ends)) {
    return { frequency: null, reason: uneven(diffs, labels) ?? `a step of ${diffs[0]} days is not a calendar frequency` };
  }
  const last = parsed[parsed.length - 1];
  const at = (t) => last.write(t, ends ? daysIn(Math.floor(t / 12), (t % 12) + 1) : last.day);
  return { frequency: BY_MONTHS[months[0]], next: (n) => range(n, (k) => at(last.month + k * months[0])) };
}

function range(n, f) {
  return Array.from({ length: n }, (_, i) => f(i + 1));
}

/**
 * `{frequency, next(n)}` for evenly spaced labels (next(n): the n labels after the last),
 * or `{frequency: null, reason}` saying why the labels cannot place the forecast.
 */
export function inferPeriods(labels) {
  const parsed = labels.map(parsePeriod);
  const bad = parsed.findIndex((p) => p === null);
  if (bad >= 0) return { frequency: null, reason: `“${labels[bad]}” is not a period` };
  if (parsed.some((p) => p.kind !== parsed[0].kind)) return { frequency: null, reason: "the periods mix formats" };
  if (parsed.length < 2) return { frequency: null, reason: "one period does not give a step" };
  if (parsed[0].kind === "date") return byDays(parsed, labels);
  const diffs = steps(parsed.map((p) => p.month));
  const gap = uneven(diffs, labels);
  if (gap) return { frequency: null, reason: gap };
  if (!BY_MONTHS[diffs[0]]) return { frequency: null, reason: `a step of ${diffs[0]} months is not a calendar frequency` };
  const last = parsed[parsed.length - 1];
  return { frequency: BY_MONTHS[diffs[0]], next: (n) => range(n, (k) => last.write(last.month + k * diffs[0])) };
}
