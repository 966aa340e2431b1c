import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DeadlineIndex } from '../../src/engine/deadline-index.js';

const T = 1_760_000_000_000;

function filled(entries: [string, number][]): DeadlineIndex<string> {
  const idx = new DeadlineIndex<string>();
  for (const [k, at] of entries) idx.set(k, at);
  return idx;
}

describe('DeadlineIndex — basics', () => {
  it('starts empty', () => {
    const idx = new DeadlineIndex<string>();
    expect(idx.size).toBe(0);
    expect(idx.peek()).toBeUndefined();
    expect(idx.has('a')).toBe(false);
    expect(idx.deadline('a')).toBeUndefined();
    expect(idx.popDue(Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
  });

  it('set inserts; peek returns the earliest without removing it', () => {
    const idx = filled([
      ['b', T + 20],
      ['a', T + 10],
      ['c', T + 30],
    ]);
    expect(idx.size).toBe(3);
    expect(idx.peek()).toEqual({ key: 'a', at: T + 10 });
    expect(idx.peek()).toEqual({ key: 'a', at: T + 10 });
    expect(idx.size).toBe(3);
    expect(idx.has('b')).toBe(true);
    expect(idx.deadline('b')).toBe(T + 20);
    expect(idx.deadline('c')).toBe(T + 30);
  });

  it('peek returns a copy: mutating it does not move the deadline', () => {
    const idx = filled([['a', T]]);
    const top = idx.peek()!;
    top.at = T + 1000;
    expect(idx.deadline('a')).toBe(T);
    expect(idx.popDue(T, 1)).toEqual(['a']);
  });

  it('set on an existing key moves it earlier (to the top)', () => {
    const idx = filled([
      ['a', T + 10],
      ['b', T + 20],
      ['c', T + 30],
      ['d', T + 40],
    ]);
    idx.set('d', T + 5);
    expect(idx.size).toBe(4);
    expect(idx.deadline('d')).toBe(T + 5);
    expect(idx.peek()).toEqual({ key: 'd', at: T + 5 });
    expect(idx.popDue(T + 100, 10)).toEqual(['d', 'a', 'b', 'c']);
  });

  it('set on an existing key moves it later (off the top)', () => {
    const idx = filled([
      ['a', T + 10],
      ['b', T + 20],
      ['c', T + 30],
      ['d', T + 40],
    ]);
    idx.set('a', T + 35);
    expect(idx.size).toBe(4);
    expect(idx.deadline('a')).toBe(T + 35);
    expect(idx.peek()).toEqual({ key: 'b', at: T + 20 });
    expect(idx.popDue(T + 100, 10)).toEqual(['b', 'c', 'a', 'd']);
  });

  it('set to the same deadline keeps one entry', () => {
    const idx = filled([
      ['a', T],
      ['b', T + 1],
    ]);
    idx.set('a', T);
    expect(idx.size).toBe(2);
    expect(idx.popDue(T + 1, 10)).toEqual(['a', 'b']);
  });

  it('delete removes a key and reports whether it was there', () => {
    const idx = filled([
      ['a', T + 10],
      ['b', T + 20],
      ['c', T + 30],
    ]);
    expect(idx.delete('b')).toBe(true);
    expect(idx.delete('b')).toBe(false);
    expect(idx.delete('zzz')).toBe(false);
    expect(idx.size).toBe(2);
    expect(idx.has('b')).toBe(false);
    expect(idx.deadline('b')).toBeUndefined();
    expect(idx.popDue(T + 100, 10)).toEqual(['a', 'c']);
  });

  it('deleting an inner node whose replacement is smaller than its new parent keeps the heap order', () => {
    // Heap after these inserts: [0, 26, 10, 44, 42, 14, 12]. Deleting 44 (slot 3) moves 12
    // under 26, so 12 must sift up, not only down.
    const idx = filled([
      ['k0', 14],
      ['k1', 42],
      ['k2', 12],
      ['k3', 44],
      ['k4', 26],
      ['k5', 10],
      ['k6', 0],
    ]);
    expect(idx.delete('k3')).toBe(true);
    expect(idx.popDue(100, 100)).toEqual(['k6', 'k5', 'k2', 'k0', 'k4', 'k1']);
  });

  it('deleting the top exposes the next earliest', () => {
    const idx = filled([
      ['a', T + 10],
      ['b', T + 20],
      ['c', T + 5],
    ]);
    expect(idx.delete('c')).toBe(true);
    expect(idx.peek()).toEqual({ key: 'a', at: T + 10 });
    expect(idx.delete('a')).toBe(true);
    expect(idx.delete('b')).toBe(true);
    expect(idx.size).toBe(0);
    expect(idx.peek()).toBeUndefined();
  });

  it('a deleted key can be set again', () => {
    const idx = filled([['a', T]]);
    idx.delete('a');
    idx.set('a', T + 7);
    expect(idx.size).toBe(1);
    expect(idx.deadline('a')).toBe(T + 7);
  });

  it('works with object keys by identity', () => {
    const k1 = { id: 1 };
    const k2 = { id: 1 };
    const idx = new DeadlineIndex<{ id: number }>();
    idx.set(k1, T + 2);
    idx.set(k2, T + 1);
    expect(idx.size).toBe(2);
    expect(idx.popDue(T + 2, 10)).toEqual([k2, k1]);
    expect(idx.size).toBe(0);
  });
});

describe('DeadlineIndex — popDue', () => {
  const entries: [string, number][] = [
    ['e', T + 50],
    ['b', T + 20],
    ['d', T + 40],
    ['a', T + 10],
    ['c', T + 30],
  ];

  it('returns due keys earliest first; a deadline equal to now is due; later ones stay', () => {
    const idx = filled(entries);
    expect(idx.popDue(T + 30, 100)).toEqual(['a', 'b', 'c']);
    expect(idx.size).toBe(2);
    expect(idx.has('c')).toBe(false);
    expect(idx.peek()).toEqual({ key: 'd', at: T + 40 });
  });

  it('nothing is due before the earliest deadline', () => {
    const idx = filled(entries);
    expect(idx.popDue(T + 9, 100)).toEqual([]);
    expect(idx.size).toBe(5);
  });

  it('the batch bound returns at most max keys, earliest first, and leaves the rest for the next call', () => {
    const idx = filled(entries);
    expect(idx.popDue(T + 100, 2)).toEqual(['a', 'b']);
    expect(idx.size).toBe(3);
    expect(idx.deadline('c')).toBe(T + 30);
    expect(idx.popDue(T + 100, 2)).toEqual(['c', 'd']);
    expect(idx.popDue(T + 100, 2)).toEqual(['e']);
    expect(idx.popDue(T + 100, 2)).toEqual([]);
    expect(idx.size).toBe(0);
  });

  it('max 0 (or negative) pops nothing', () => {
    const idx = filled(entries);
    expect(idx.popDue(T + 100, 0)).toEqual([]);
    expect(idx.popDue(T + 100, -1)).toEqual([]);
    expect(idx.size).toBe(5);
  });

  it('equal deadlines are all popped', () => {
    const idx = filled([
      ['x', T],
      ['y', T],
      ['z', T],
      ['w', T + 1],
    ]);
    const out = idx.popDue(T, 10);
    expect([...out].sort()).toEqual(['x', 'y', 'z']);
    expect(idx.size).toBe(1);
  });
});

describe('DeadlineIndex — model test against a Map', () => {
  type Op =
    | { op: 'set'; key: number; at: number }
    | { op: 'delete'; key: number }
    | { op: 'popDue'; now: number; max: number; budget: number };

  const KEYS = 40;
  const keyArb = fc.integer({ min: 0, max: KEYS - 1 });
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ op: fc.constant('set' as const), key: keyArb, at: fc.integer({ min: 0, max: 100 }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), key: keyArb }) },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('popDue' as const), now: fc.integer({ min: -1, max: 110 }), max: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constant(1000)),
        // A small settling budget: calls may stop short, and calling again while more(now) gets the rest.
        budget: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constant(1000)),
      }),
    },
  );

  function check(idx: DeadlineIndex<number>, model: Map<number, number>): void {
    expect(idx.size).toBe(model.size);
    for (let k = 0; k < KEYS; k++) {
      expect(idx.has(k)).toBe(model.has(k));
      expect(idx.deadline(k)).toBe(model.get(k));
    }
    const top = idx.peek();
    if (model.size === 0) {
      expect(top).toBeUndefined();
    } else {
      const min = Math.min(...model.values());
      expect(top).toBeDefined();
      expect(top!.at).toBe(min);
      expect(model.get(top!.key)).toBe(min);
    }
  }

  it('agrees with the reference over random operation sequences', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 150 }), (ops) => {
        const idx = new DeadlineIndex<number>();
        const model = new Map<number, number>();
        for (const o of ops) {
          if (o.op === 'set') {
            idx.set(o.key, o.at);
            model.set(o.key, o.at);
          } else if (o.op === 'delete') {
            expect(idx.delete(o.key)).toBe(model.delete(o.key));
          } else {
            const due = [...model.entries()].filter(([, at]) => at <= o.now).map(([, at]) => at).sort((a, b) => a - b);
            const popped: number[] = [];
            while (popped.length < o.max) {
              const got = idx.popDue(o.now, o.max - popped.length, o.budget);
              popped.push(...got);
              if (got.length === 0 && !idx.more(o.now)) break;
            }
            expect(popped.length).toBe(Math.min(o.max, due.length));
            expect(new Set(popped).size).toBe(popped.length);
            // Earliest first, and exactly the earliest ones (ties may come in any order).
            const poppedAts = popped.map((k) => {
              const at = model.get(k);
              expect(at).toBeDefined();
              return at!;
            });
            expect(poppedAts).toEqual(due.slice(0, popped.length));
            for (const k of popped) model.delete(k);
          }
          check(idx, model);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('after random inserts, moves and deletes, a full drain comes out in deadline order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 100 })), { maxLength: 40 }),
        fc.array(
          fc.oneof(
            fc.tuple(fc.constant('delete' as const), fc.integer({ min: 0, max: 30 })),
            fc.tuple(fc.constant('move' as const), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 100 })),
          ),
          { maxLength: 20 },
        ),
        (inserts, changes) => {
          const idx = new DeadlineIndex<number>();
          const model = new Map<number, number>();
          for (const [k, at] of inserts) {
            idx.set(k, at);
            model.set(k, at);
          }
          for (const c of changes) {
            if (c[0] === 'delete') {
              expect(idx.delete(c[1])).toBe(model.delete(c[1]));
            } else {
              idx.set(c[1], c[2]);
              model.set(c[1], c[2]);
            }
          }
          const out = idx.popDue(100, 1000);
          expect(out.map((k) => model.get(k))).toEqual([...model.values()].sort((a, b) => a - b));
          expect(new Set(out)).toEqual(new Set(model.keys()));
          expect(idx.size).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('draining with a small batch returns every key exactly once in deadline order', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 1000 })), {
          selector: ([k]) => k,
          maxLength: 200,
        }),
        fc.integer({ min: 1, max: 7 }),
        (entries, batch) => {
          const idx = new DeadlineIndex<number>();
          for (const [k, at] of entries) idx.set(k, at);
          const out: number[] = [];
          for (;;) {
            const got = idx.popDue(1000, batch);
            expect(got.length).toBeLessThanOrEqual(batch);
            if (got.length === 0) break;
            out.push(...got);
          }
          expect(idx.size).toBe(0);
          const at = new Map(entries);
          expect([...out].sort((a, b) => a - b)).toEqual(entries.map(([k]) => k).sort((a, b) => a - b));
          for (let i = 1; i < out.length; i++) expect(at.get(out[i - 1]!)!).toBeLessThanOrEqual(at.get(out[i]!)!);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('DeadlineIndex — settling extended deadlines', () => {
  it('settles at most the budget per call, reports work left, and still finds the due entry behind them', () => {
    const idx = new DeadlineIndex<string>();
    // 2,500 sessions whose first deadline has passed but who heartbeated since (extended).
    for (let i = 0; i < 2500; i++) idx.set(`s${i}`, T + 10);
    for (let i = 0; i < 2500; i++) idx.set(`s${i}`, T + 60_000);
    idx.set('gone', T + 20); // stopped heartbeating: truly due
    const now = T + 1000;
    const calls: string[][] = [];
    while (idx.more(now)) calls.push(idx.popDue(now, 50, 1000));
    // Three calls settle the 2,500 (1,000 each at most); the due one comes out once it is on top.
    expect(calls.length).toBeGreaterThanOrEqual(3);
    expect(calls.slice(0, 2)).toEqual([[], []]);
    expect(calls.flat()).toEqual(['gone']);
    expect(idx.more(now)).toBe(false);
    expect(idx.size).toBe(2500);
    expect(idx.popDue(T + 60_000, 5000)).toHaveLength(2500);
  });

  it('leaves extended entries whose old time is still ahead alone: nothing is due and there is no work', () => {
    const idx = new DeadlineIndex<string>();
    idx.set('a', T + 100);
    idx.set('a', T + 500);
    expect(idx.more(T + 99)).toBe(false);
    expect(idx.popDue(T + 99, 10, 0)).toEqual([]);
    // Its old time passed: with no settling allowed it is not returned (it is not due) …
    expect(idx.more(T + 100)).toBe(true);
    expect(idx.popDue(T + 100, 10, 0)).toEqual([]);
    // … and once settled it is due only at its new time.
    expect(idx.popDue(T + 100, 10)).toEqual([]);
    expect(idx.more(T + 100)).toBe(false);
    expect(idx.popDue(T + 500, 10)).toEqual(['a']);
  });
});
