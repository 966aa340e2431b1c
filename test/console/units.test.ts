import { describe, expect, it } from 'vitest';
import { SseParser } from '../../console/src/sse-parse.js';
import { alertIds, alertIdsAfter } from '../../console/src/live.js';
import { formatHash, parseHash, section } from '../../console/src/route.js';
import { ago, countdown, dateTime, dayToIso, duration, level, licenseName, parseNumbers, pct, percent, quotaLimit, rangeFor, shortId, splitList } from '../../console/src/format.js';

describe('console SSE parser', () => {
  it('frames events split anywhere across chunks, with CRLF, CR or LF line ends', () => {
    const text = 'retry: 3000\r\n\r\nid: 7\r\nevent: lease.granted\r\ndata: {"lease":"lse_1"}\r\n\r\n: keep-alive\n\nevent: usage\rdata: {"a":1}\r\r';
    for (let size = 1; size <= text.length; size++) {
      const p = new SseParser();
      const out = [];
      for (let i = 0; i < text.length; i += size) out.push(...p.push(text.slice(i, i + size)));
      expect(out, `chunk size ${size}`).toEqual([
        { event: 'lease.granted', data: '{"lease":"lse_1"}', id: '7' },
        { event: 'usage', data: '{"a":1}', id: '7' },
      ]);
      expect(p.lastEventId).toBe('7');
    }
  });

  it('joins data lines, defaults the event name, strips one leading space, ignores unknown fields and comments', () => {
    const p = new SseParser();
    expect(p.push('data:a\ndata:  b\nfoo: bar\n:comment\n\n')).toEqual([{ event: 'message', data: 'a\n b', id: null }]);
    expect(p.push('event: only-a-name\n\n')).toEqual([]);
    expect(p.push('data\n\n')).toEqual([{ event: 'message', data: '', id: null }]);
  });
});

describe('console alert events', () => {
  it('takes the ids of the alerts one check fired from its event, and nothing from anything else', () => {
    const data = JSON.stringify({ lease: '', at: '2026-06-01T12:00:00Z', alerts: [{ id: 'alr_1', kind: 'seats' }, { id: 'alr_2', kind: 'usage' }], conditions: [] });
    expect(alertIds(data)).toEqual(['alr_1', 'alr_2']);
    expect(alertIds('{"id":"alr_3"}')).toEqual(['alr_3']);
    expect(alertIds('{"alerts":[null,{"id":4}]}')).toEqual([]);
    expect(alertIds('not json')).toEqual([]);
  });

  it('counts as new only alerts newer than the newest one known (a reconnecting stream replays old ones)', () => {
    const data = JSON.stringify({ alerts: [{ id: 'alr_01m84k0000' }, { id: 'alr_01m84k0009' }] });
    expect(alertIdsAfter(data, 'alr_01m84k0005')).toEqual(['alr_01m84k0009']);
    expect(alertIdsAfter(data, '')).toEqual(['alr_01m84k0000', 'alr_01m84k0009']);
    expect(alertIdsAfter(data, 'alr_01m84k0009')).toEqual([]);
  });
});

describe('console hash routes', () => {
  it('parses the manageUrl route and round-trips filters', () => {
    expect(parseHash('#/leases?mine=1')).toEqual({ path: '/leases', query: { mine: '1' } });
    expect(parseHash('')).toEqual({ path: '/', query: {} });
    expect(parseHash('#/setup/users/')).toEqual({ path: '/setup/users', query: {} });
    const h = formatHash('/leases', { product: 'cad & cam', user: undefined, status: '', kind: 'flex' });
    expect(h).toBe('#/leases?product=cad%20%26%20cam&kind=flex');
    expect(parseHash(h)).toEqual({ path: '/leases', query: { product: 'cad & cam', kind: 'flex' } });
    expect(section('/setup/users')).toBe('setup');
    expect(section('/')).toBe('');
  });
});

describe('console formatting', () => {
  it('gauges: percent and colour level (amber from 75 %, red when full, no capacity counts as full once used)', () => {
    expect(percent(1, 4)).toBe(25);
    expect(percent(0, 0)).toBe(0);
    expect(percent(1, 0)).toBe(100);
    expect([level(2, 4), level(3, 4), level(4, 4), level(5, 4), level(0, 0), level(1, 0)]).toEqual(['ok', 'warn', 'full', 'full', 'ok', 'full']);
  });

  it('durations, countdowns and ages', () => {
    expect([duration(45), duration(90), duration(3600), duration(3660), duration(90_000), duration(-5)]).toEqual(['45 s', '1 min 30 s', '1 h', '1 h 1 min', '1 d 1 h', '0 s']);
    const now = Date.UTC(2026, 5, 1, 12);
    expect(countdown(new Date(now + 272_000).toISOString(), now)).toBe('4:32');
    expect(countdown(new Date(now + 3_723_000).toISOString(), now)).toBe('1:02:03');
    expect(countdown(new Date(now - 5000).toISOString(), now)).toBe('0:00');
    expect(ago(new Date(now - 10_000).toISOString(), now)).toBe('just now');
    expect(ago(new Date(now - 300_000).toISOString(), now)).toBe('5 min ago');
    expect(ago(new Date(now - 3 * 86_400_000).toISOString(), now)).toBe('3 d ago');
  });

  it('times in the account time zone', () => {
    expect(dateTime('2026-06-01T12:05:09Z', 'Europe/Berlin')).toBe('1 Jun 2026, 14:05:09');
    expect(dateTime('2026-06-01T12:05:09Z', 'UTC')).toBe('1 Jun 2026, 12:05:09');
    // An unknown zone falls back to the browser's rather than failing the page.
    expect(dateTime('2026-06-01T12:05:09Z', 'Not/AZone')).toMatch(/^1 Jun 2026, \d\d:05:09$/);
  });

  it('report ranges use whole-minute buckets (the server requires them)', () => {
    const now = Date.UTC(2026, 5, 1, 12);
    for (const preset of ['day', 'week', 'month'] as const) {
      const r = rangeFor(preset, now);
      expect(r.to).toBe('2026-06-01T12:00:00.000Z');
      expect(r.bucket % 60).toBe(0);
      expect((Date.parse(r.to) - Date.parse(r.from)) / 1000 / r.bucket).toBeLessThanOrEqual(168);
    }
  });

  it('date inputs become the start and end of that day in local time; ids are shortened', () => {
    expect(dayToIso('2026-06-01')).toBe(new Date(2026, 5, 1).toISOString());
    expect(dayToIso('2026-06-01', true)).toBe(new Date(new Date(2026, 5, 2).getTime() - 1).toISOString());
    expect(dayToIso('')).toBeUndefined();
    expect(dayToIso('June 1')).toBeUndefined();
    expect(shortId('lse_01JABCDEFGHJKMNP')).toBe('…FGHJKMNP');
    expect(shortId('usr_1')).toBe('usr_1');
  });

  it('comma-separated lists: event types, and alert thresholds that must be numbers', () => {
    expect(splitList(' alert, lease.granted,,lease.ended ')).toEqual(['alert', 'lease.granted', 'lease.ended']);
    expect(splitList('  ')).toEqual([]);
    expect(parseNumbers('75, 90,95 ,100', 'Thresholds')).toEqual([75, 90, 95, 100]);
    expect(parseNumbers('12.5', 'Thresholds')).toEqual([12.5]);
    // Out-of-range numbers are the server's to refuse (its problem is shown); words are not numbers.
    expect(parseNumbers('0, 5000', 'Thresholds')).toEqual([0, 5000]);
    expect(() => parseNumbers('75, ninety', 'Thresholds')).toThrow('Thresholds: “ninety” is not a number');
    expect(() => parseNumbers('75 90', 'Thresholds')).toThrow('“75 90” is not a number');
    expect(() => parseNumbers('0x10', 'Thresholds')).toThrow('not a number');
  });

  it('alert percentages, quota limits and license names', () => {
    expect([pct(75), pct(83.333), pct(110), pct(Number.POSITIVE_INFINITY), pct(1e9)]).toEqual(['75 %', '83.3 %', '110 %', '∞ %', '∞ %']);
    expect(quotaLimit({ units: 1000, overage: 5 })).toBe(1050);
    expect(quotaLimit({ units: 10, overage: 5 })).toBe(10);
    expect(quotaLimit({ units: 0, overage: 5 })).toBe(0);
    expect(licenseName({ id: 'lic_01JABCDEF123456', name: 'Main' })).toBe('Main');
    expect(licenseName({ id: 'lic_01JABCDEF123456', name: null })).toBe('License 123456');
  });
});
