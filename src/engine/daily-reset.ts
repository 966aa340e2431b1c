import { DateTime, IANAZone } from 'luxon';

/** `"HH:MM"` (24 h) → minutes after midnight, or null if malformed. */
export function parseResetTime(hhmm: string): number | null {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
  if (!m) return null;
  return Number(m[1]) * 60 + Number(m[2]);
}

export function isValidTimeZone(tz: string): boolean {
  return IANAZone.isValidZone(tz);
}

/**
 * The first daily reset strictly after `now`, at wall-clock `hhmm` in time zone `tz`
 * (pixi: 04:00 local). On a day when that wall-clock time does not exist (spring-forward
 * gap) the reset happens at the first instant after the gap; on a day when it exists twice
 * (fall-back), at the first of the two.
 */
export function nextDailyReset(now: number, tz: string, hhmm: string): number {
  const minutes = parseResetTime(hhmm);
  if (minutes === null) throw new RangeError(`invalid reset time ${hhmm}`);
  const local = DateTime.fromMillis(now, { zone: tz });
  if (!local.isValid) throw new RangeError(`invalid time zone ${tz}`);
  for (let day = 0; day < 3; day++) {
    const d = local.startOf('day').plus({ days: day });
    const candidate = wallClock(d.year, d.month, d.day, minutes, tz);
    if (candidate > now) return candidate;
  }
  /* c8 ignore next */
  throw new Error('unreachable: a reset exists within three days');
}

/**
 * The first instant whose local wall-clock time in `tz` is year-month-day hour:minute; if
 * that time falls in a gap (the clocks jump over it), the instant the gap ends.
 *
 * Works from the zone's UTC offsets rather than from Luxon's own resolution of ambiguous
 * times, so both clock changes are handled the same way for gaps of any length (Lord Howe
 * Island's is 30 minutes).
 */
function wallClock(year: number, month: number, day: number, minutes: number, tz: string): number {
  const zone = IANAZone.create(tz);
  const naive = DateTime.utc(year, month, day, Math.floor(minutes / 60), minutes % 60).toMillis();
  const offsets = [...new Set([zone.offset(naive - 36 * 3600_000), zone.offset(naive), zone.offset(naive + 36 * 3600_000)])];
  const matches = offsets.map((o) => naive - o * 60_000).filter((t) => zone.offset(t) * 60_000 === naive - t);
  if (matches.length > 0) return Math.min(...matches);
  // In a gap: the transition lies between the two candidate instants. Find the first
  // instant on the later offset (offsets change on whole minutes or coarser).
  const candidates = offsets.map((o) => naive - o * 60_000);
  let lo = Math.min(...candidates);
  let hi = Math.max(...candidates);
  const before = zone.offset(lo);
  while (hi - lo > 60_000) {
    const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
    if (zone.offset(mid) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** Start of the local day containing `now` in `tz`, as epoch ms, and its date label. */
export function localDay(now: number, tz: string): { start: number; label: string } {
  const d = DateTime.fromMillis(now, { zone: tz }).startOf('day');
  return { start: d.toMillis(), label: d.toISODate() ?? '' };
}
