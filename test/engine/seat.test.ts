import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_HEARTBEAT, heartbeatPolicy, overageSeats, seatKey } from '../../src/engine/seat.js';
import type { HeartbeatConfig } from '../../src/engine/seat.js';
import { SEAT_MODELS } from '../../src/engine/types.js';

describe('seatKey', () => {
  it('session: every session is its own seat, whatever user and device', () => {
    expect(seatKey('session', 'usr_1', 'dev_1')).toBeNull();
    expect(seatKey('session', 'usr_1', null)).toBeNull();
    expect(seatKey('session', null, 'dev_1')).toBeNull();
    expect(seatKey('session', null, null)).toBeNull();
  });

  it('user-device: one key per user and device; nothing shared without a device', () => {
    expect(seatKey('user-device', 'usr_1', 'dev_1')).toBe('ud:usr_1:dev_1');
    expect(seatKey('user-device', null, 'dev_1')).toBe('ud::dev_1');
    expect(seatKey('user-device', 'usr_1', null)).toBeNull();
    expect(seatKey('user-device', null, null)).toBeNull();
  });

  it('user-device: same user and device share; a second device or a second user does not', () => {
    const k = seatKey('user-device', 'usr_1', 'dev_1');
    expect(seatKey('user-device', 'usr_1', 'dev_1')).toBe(k);
    expect(seatKey('user-device', 'usr_1', 'dev_2')).not.toBe(k);
    expect(seatKey('user-device', 'usr_2', 'dev_1')).not.toBe(k);
    expect(seatKey('user-device', null, 'dev_1')).not.toBe(k);
  });

  it('user: one key per user wherever they are; anonymous requests never share', () => {
    expect(seatKey('user', 'usr_1', 'dev_1')).toBe('u:usr_1');
    expect(seatKey('user', 'usr_1', 'dev_2')).toBe('u:usr_1');
    expect(seatKey('user', 'usr_1', null)).toBe('u:usr_1');
    expect(seatKey('user', null, 'dev_1')).toBeNull();
    expect(seatKey('user', null, null)).toBeNull();
    expect(seatKey('user', 'usr_2', 'dev_1')).not.toBe(seatKey('user', 'usr_1', 'dev_1'));
  });

  it('device: one key per device, whoever uses it; nothing without a device', () => {
    expect(seatKey('device', 'usr_1', 'dev_1')).toBe('d:dev_1');
    expect(seatKey('device', 'usr_2', 'dev_1')).toBe('d:dev_1');
    expect(seatKey('device', null, 'dev_1')).toBe('d:dev_1');
    expect(seatKey('device', 'usr_1', null)).toBeNull();
    expect(seatKey('device', null, null)).toBeNull();
  });

  it('keys of different models never collide, even when user and device ids are equal', () => {
    const keys = SEAT_MODELS.map((m) => seatKey(m, 'x', 'x')).filter((k) => k !== null);
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(3);
  });

  it('user-device keys identify (user, device) for colon-free user ids', () => {
    // User ids are generated (`usr_…`) without ':'; device ids are free text from clients.
    const userArb = fc.option(fc.stringMatching(/^[a-z0-9_]{1,8}$/), { nil: null });
    const deviceArb = fc.string({ minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(userArb, deviceArb, userArb, deviceArb, (u1, d1, u2, d2) => {
        const same = seatKey('user-device', u1, d1) === seatKey('user-device', u2, d2);
        expect(same).toBe(u1 === u2 && d1 === d2);
      }),
      { numRuns: 500 },
    );
  });
});

describe('heartbeatPolicy', () => {
  const desktop = { interval: 15, timeout: 45 };
  const web = { interval: 300, timeout: 900 };
  const product: HeartbeatConfig = { heartbeat: { interval: 10, timeout: 30 }, clientTypes: { desktop, web } };

  it('the default policy is 10 s / 30 s', () => {
    expect(DEFAULT_HEARTBEAT).toEqual({ interval: 10, timeout: 30 });
  });

  it('a known client type gets its own policy', () => {
    expect(heartbeatPolicy(product, 'desktop')).toEqual(desktop);
    expect(heartbeatPolicy(product, 'web')).toEqual(web);
  });

  it('no client type or an unknown one gets the product policy', () => {
    expect(heartbeatPolicy(product, null)).toEqual({ interval: 10, timeout: 30 });
    expect(heartbeatPolicy(product, 'mobile')).toEqual({ interval: 10, timeout: 30 });
    expect(heartbeatPolicy(product, '')).toEqual({ interval: 10, timeout: 30 });
    expect(heartbeatPolicy(product, 'Desktop')).toEqual({ interval: 10, timeout: 30 });
  });

  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'])(
    'a client type named like an Object prototype key (%s) does not match',
    (name) => {
      const got = heartbeatPolicy(product, name);
      expect(got).toEqual({ interval: 10, timeout: 30 });
      expect(got).toBe(product.heartbeat);
    },
  );

  it('a product without client types always uses its own policy', () => {
    const bare: HeartbeatConfig = { heartbeat: { interval: 5, timeout: 20 }, clientTypes: {} };
    expect(heartbeatPolicy(bare, 'desktop')).toEqual({ interval: 5, timeout: 20 });
    expect(heartbeatPolicy(bare, 'toString')).toEqual({ interval: 5, timeout: 20 });
  });

  it('a client type that really is defined under a prototype-like name does match', () => {
    const odd: HeartbeatConfig = {
      heartbeat: { interval: 10, timeout: 30 },
      clientTypes: JSON.parse('{"toString": {"interval": 1, "timeout": 3}, "__proto__": {"interval": 2, "timeout": 6}}') as Record<
        string,
        { interval: number; timeout: number }
      >,
    };
    expect(heartbeatPolicy(odd, 'toString')).toEqual({ interval: 1, timeout: 3 });
    expect(heartbeatPolicy(odd, '__proto__')).toEqual({ interval: 2, timeout: 6 });
    expect(heartbeatPolicy(odd, 'constructor')).toEqual({ interval: 10, timeout: 30 });
  });

  it('works with a null-prototype client type map', () => {
    const clientTypes = Object.assign(Object.create(null) as Record<string, { interval: number; timeout: number }>, { desktop });
    expect(heartbeatPolicy({ heartbeat: { interval: 10, timeout: 30 }, clientTypes }, 'desktop')).toEqual(desktop);
    expect(heartbeatPolicy({ heartbeat: { interval: 10, timeout: 30 }, clientTypes }, 'web')).toEqual({ interval: 10, timeout: 30 });
  });
});

describe('overageSeats', () => {
  it.each([
    [10, 10, 1],
    [20, 10, 2],
    [9, 10, 0], // 0.9 → 0
    [19, 10, 1], // 1.9 → 1
    [10, 0, 0],
    [0, 50, 0],
    [3, 50, 1], // 1.5 → 1
    [100, 7, 7],
    [7, 100, 7],
    [5, 200, 10],
    [1, 99, 0],
    [10, 29, 2], // 2.9 → 2
    [1000, 15, 150],
  ])('%i seats at %i %% → %i', (seats, pct, expected) => {
    expect(overageSeats(seats, pct)).toBe(expected);
  });

  it('is the largest whole number of seats not above the percentage', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: 500 }), (seats, pct) => {
        const o = overageSeats(seats, pct);
        expect(Number.isInteger(o)).toBe(true);
        expect(o * 100).toBeLessThanOrEqual(seats * pct);
        expect((o + 1) * 100).toBeGreaterThan(seats * pct);
      }),
      { numRuns: 500 },
    );
  });
});
