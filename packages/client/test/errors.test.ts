import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_CODES, SeatkeeperError, isSeatkeeperError } from '../src/errors.js';
import { backoffDelay } from '../src/timers.js';

describe('SeatkeeperError', () => {
  it('carries the problem code, status and extra members', () => {
    const body = { type: 'urn:seatkeeper:problem:no-seat', title: 'No seat available', status: 409, detail: 'all 1 seats of p are in use', code: 'no-seat', retryAfter: 30, ownLeases: [{ id: 'lse_1' }] };
    const e = SeatkeeperError.fromAnswer(409, body);
    expect(e).toBeInstanceOf(Error);
    expect(isSeatkeeperError(e, 'no-seat')).toBe(true);
    expect(e).toMatchObject({ code: 'no-seat', status: 409, message: 'all 1 seats of p are in use', retryAfter: 30, unreachable: false });
    expect(e.ownLeases).toEqual([{ id: 'lse_1' }]);
    expect(e.problem).toEqual(body);
  });

  it('maps an answer without a problem body by its status', () => {
    expect(SeatkeeperError.fromAnswer(503, '<html>').code).toBe('unavailable');
    expect(SeatkeeperError.fromAnswer(502, undefined).code).toBe('internal-error');
    expect(SeatkeeperError.fromAnswer(418, undefined).code).toBe('invalid-response');
    expect(SeatkeeperError.fromAnswer(410, { code: 'session-ended', reason: 'expired' }).reason).toBe('expired');
  });

  it('knows every code of the server catalogue (docs/api-errors.md)', () => {
    const doc = readFileSync(new URL('../../../docs/api-errors.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `([a-z-]+)` \| \d{3} \|/gm)].map((m) => m[1]);
    expect(documented.length).toBeGreaterThan(10);
    expect([...API_CODES].sort()).toEqual([...documented].sort());
  });
});

describe('backoff with full jitter', () => {
  it('grows the ceiling exponentially up to the cap and draws uniformly below it', () => {
    const o = { initialDelay: 1000, maxDelay: 30_000 };
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((n) => backoffDelay(n, o, () => 0.999999))).toEqual([999, 1999, 3999, 7999, 15999, 29999, 29999, 29999]);
    expect(backoffDelay(3, o, () => 0.5)).toBe(2000);
    expect(backoffDelay(3, o, () => 0)).toBe(0);
    expect(backoffDelay(1000, o, () => 1)).toBe(30_000);
  });
});
