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

function wallClock(year: number, month: number, day: number, minutes: number, tz: string): number {
  const hour = Math.floor(minutes / 60);
  const minute = minutes % 60;
  const dt = DateTime.fromObject({ year, month, day, hour, minute }, { zone: tz });
  // Luxon moves a time inside a DST gap forward by the gap's length; we want the first
  // instant after the gap, which is the same instant for the usual 1 h gap at :00.
  if (dt.hour !== hour || dt.minute !== minute) {
    const after = DateTime.fromObject({ year, month, day, hour: hour + 1, minute: 0 }, { zone: tz });
    return Math.min(dt.toMillis(), after.toMillis());
  }
  return dt.toMillis();
}

/** Start of the local day containing `now` in `tz`, as epoch ms, and its date label. */
export function localDay(now: number, tz: string): { start: number; label: string } {
  const d = DateTime.fromMillis(now, { zone: tz }).startOf('day');
  return { start: d.toMillis(), label: d.toISODate() ?? '' };
}
