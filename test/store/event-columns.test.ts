import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packEvents, unpackEvents } from '../../src/store/sql/event-columns.js';
import type { LeaseEvent } from '../../src/store/types.js';

/** Lease events as the side connection's operations return them: a few accounts, types and data shapes, repeated. */
const event: fc.Arbitrary<LeaseEvent> = fc.record({
  seq: fc.nat(),
  accountId: fc.constantFrom('acc_a', 'acc_b', 'acc_c'),
  leaseId: fc.string({ minLength: 1, maxLength: 30 }),
  type: fc.constantFrom('lease.ended', 'lease.granted', 'lease.changed'),
  data: fc.oneof(
    fc.constant({ reason: 'expired' }),
    fc.record({ reason: fc.constantFrom('expired', 'released', 'terminated') }),
    fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue()) as fc.Arbitrary<Record<string, unknown>>,
  ),
  at: fc.integer({ min: 0, max: 2 ** 45 }),
});

describe('packEvents / unpackEvents', () => {
  it('gives back the events it packed, in order, through JSON', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 60 }), (events) => {
        const back = unpackEvents(JSON.parse(JSON.stringify(packEvents(events))));
        expect(back).toEqual(JSON.parse(JSON.stringify(events)));
      }),
    );
  });

  it('writes each account, type and data once, and gives each event its own data object', () => {
    const events: LeaseEvent[] = Array.from({ length: 50 }, (_, i) => ({
      seq: 100 + i, accountId: 'acc_a', leaseId: `lse_${i}`, type: 'lease.ended', data: { reason: 'expired' }, at: 1_000 + i,
    }));
    const packed = packEvents(events);
    expect(packed).toMatchObject({ accounts: ['acc_a'], types: ['lease.ended'], data: ['{"reason":"expired"}'] });
    expect(packed.rows).toHaveLength(250);
    const back = unpackEvents(packed);
    expect(back).toEqual(events);
    back[0]!.data.reason = 'changed';
    expect(back[1]!.data.reason).toBe('expired');
    // Data with objects inside: nothing is shared between two events either.
    const nested = unpackEvents(packEvents([0, 1].map((i) => ({ ...events[i]!, data: { meta: { tag: 'a' }, list: [1] } }))));
    (nested[0]!.data.meta as { tag: string }).tag = 'b';
    (nested[0]!.data.list as number[]).push(2);
    expect(nested[1]!.data).toEqual({ meta: { tag: 'a' }, list: [1] });
  });
});
