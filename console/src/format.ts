/** Pure display helpers (numbers, times, ranges); checked by test/console/units.test.ts. */

/** Share of capacity in use, in percent; a product with no capacity is full once anything is used. */
export function percent(inUse: number, capacity: number): number {
  if (capacity <= 0) return inUse > 0 ? 100 : 0;
  return Math.round((inUse / capacity) * 100);
}

export type Level = 'ok' | 'warn' | 'full';

/** Gauge colour: amber from 75 % (the first alert threshold of SPEC §6), red when full. */
export function level(inUse: number, capacity: number): Level {
  if (capacity <= 0 ? inUse > 0 : inUse >= capacity) return 'full';
  return percent(inUse, capacity) >= 75 ? 'warn' : 'ok';
}

/** 45 → "45 s", 90 → "1 min 30 s", 7200 → "2 h", 90000 → "1 d 1 h". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (d > 0) return h > 0 ? `${d} d ${h} h` : `${d} d`;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  return rest > 0 ? `${m} min ${rest} s` : `${m} min`;
}

/** Time left until `iso` as m:ss or h:mm:ss; "0:00" once it has passed. */
export function countdown(iso: string, nowMs: number): string {
  const left = Math.max(0, Math.ceil((Date.parse(iso) - nowMs) / 1000));
  const h = Math.floor(left / 3600);
  const m = Math.floor((left % 3600) / 60);
  const s = String(left % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** "just now", "5 min ago", "3 h ago", "2 d ago". */
export function ago(iso: string, nowMs: number): string {
  const s = Math.round((nowMs - Date.parse(iso)) / 1000);
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

/** A date and time in the account's time zone (else the browser's), e.g. "1 Jun 2026, 14:05:09". */
export function dateTime(iso: string, timeZone?: string): string {
  const opts: Intl.DateTimeFormatOptions = {
    day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  };
  try {
    return new Intl.DateTimeFormat('en-GB', timeZone ? { ...opts, timeZone } : opts).format(new Date(iso));
  } catch {
    return new Intl.DateTimeFormat('en-GB', opts).format(new Date(iso));
  }
}

export type RangePreset = 'day' | 'week' | 'month';

/** The report window ending now and the bucket size that gives a readable chart. */
export function rangeFor(preset: RangePreset, nowMs: number): { from: string; to: string; bucket: number } {
  const span = { day: 86_400, week: 7 * 86_400, month: 30 * 86_400 }[preset];
  const bucket = { day: 900, week: 3600, month: 86_400 / 4 }[preset];
  return { from: new Date(nowMs - span * 1000).toISOString(), to: new Date(nowMs).toISOString(), bucket };
}

/** `lse_01J…ABCDEFGH` → `…ABCDEFGH`: enough to tell leases apart in a table. */
export function shortId(id: string): string {
  return id.length > 12 ? `…${id.slice(-8)}` : id;
}

/** A date input's value (YYYY-MM-DD) → the ISO instant that day starts (or ends) in the browser's time zone. */
export function dayToIso(day: string, end = false): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return undefined;
  const start = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (Number.isNaN(start.getTime())) return undefined;
  const at = end ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + 1).getTime() - 1 : start.getTime();
  return new Date(at).toISOString();
}

/** "a, b,,c " → ["a", "b", "c"]: the comma-separated lists of the forms. */
export function splitList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * "75, 90,95" → [75, 90, 95]. A word that is not a number is refused here, naming it;
 * numbers the server will not take (out of range, too many) are left to its answer.
 */
export function parseNumbers(text: string, what: string): number[] {
  return splitList(text).map((s) => {
    const n = Number(s);
    if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(s) || !Number.isFinite(n)) throw new Error(`${what}: “${s}” is not a number; write numbers separated by commas, e.g. 75, 90, 100`);
    return n;
  });
}

/**
 * A percentage as the alerts show it: 75 → "75 %", 83.333 → "83.3 %". A value with nothing
 * to divide by (no seats) is infinite; the API sends it as 1e9.
 */
export function pct(value: number): string {
  return `${Number.isFinite(value) && value < 1e9 ? Math.round(value * 10) / 10 : '∞'} %`;
}

/** A license as people call it: its name, else the end of its id. */
export function licenseName(l: { id: string; name: string | null }): string {
  return l.name ?? `License ${l.id.slice(-6)}`;
}

/** The most units a metered product may count: its quota plus the overage, rounded down (docs/metering.md). */
export function quotaLimit(q: { units: number; overage: number }): number {
  return Math.floor((q.units * (100 + q.overage)) / 100);
}
