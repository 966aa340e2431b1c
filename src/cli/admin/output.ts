/** Human tables and --json output. */

export type Cell = string | number | boolean | null | undefined;

export function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}

export function printJson(v: unknown): void {
  out(JSON.stringify(v, null, 2));
}

const text = (c: Cell): string => (c === null || c === undefined || c === '' ? '-' : String(c));

/** A plain-text table: a header row, numbers right-aligned, two spaces between columns. */
export function table(headers: string[], rows: Cell[][]): string {
  const cells = rows.map((r) => headers.map((_, i) => text(r[i])));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || r[i] === null || r[i] === undefined));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

export function printTable(headers: string[], rows: Cell[][], empty = '(none)'): void {
  out(rows.length === 0 ? empty : table(headers, rows));
}

/** Seconds or an ISO time as a short local-free UTC string: 2026-06-01 12:00:00Z. */
export function when(iso: unknown): string | null {
  if (typeof iso !== 'string') return null;
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** Rows of objects as CSV (RFC 4180 quoting). */
export function toCsv(items: Record<string, unknown>[]): string {
  const cols = [...new Set(items.flatMap((i) => Object.keys(i)))];
  const quote = (v: unknown) => {
    const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [cols.join(','), ...items.map((i) => cols.map((c) => quote(i[c])).join(','))].join('\r\n') + '\r\n';
}
