import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { endOfTurn, hashToken, thisTurn } from '../../src/server/deps.js';
import { iso } from '../../src/server/serialize.js';

describe('endOfTurn', () => {
  it('is one promise for every caller of a turn, and a new one in the next turn', async () => {
    const a = endOfTurn();
    expect(endOfTurn()).toBe(a);
    await a;
    const b = endOfTurn();
    expect(b).not.toBe(a);
    await b;
  });

  it('settles only after the microtasks of its turn (the answers of that turn leave together)', async () => {
    const order: string[] = [];
    const turn = endOfTurn().then(() => order.push('turn'));
    let chain = Promise.resolve();
    for (let i = 0; i < 5; i++) chain = chain.then(() => { order.push(`answer ${i}`); });
    await turn;
    expect(order).toEqual(['answer 0', 'answer 1', 'answer 2', 'answer 3', 'answer 4', 'turn']);
  });
});

describe('thisTurn', () => {
  it('says whether its check phase has come: an answer ready after it leaves at once', async () => {
    const turn = thisTurn();
    expect(turn.ended).toBe(false);
    expect(thisTurn()).toBe(turn);
    expect(endOfTurn()).toBe(turn.end);
    await Promise.resolve();
    expect(turn.ended).toBe(false);
    await new Promise<void>((r) => setImmediate(r));
    expect(turn.ended).toBe(true);
    const next = thisTurn();
    expect(next).not.toBe(turn);
    expect(next.ended).toBe(false);
    await next.end;
    expect(next.ended).toBe(true);
  });
});

describe('hashToken', () => {
  it('hashes as SHA-256 in base64url, as the stored hashes of earlier versions were made', () => {
    for (const t of ['sss_abc', 'skq_' + 'x'.repeat(43), '']) {
      expect(hashToken(t)).toBe(createHash('sha256').update(t).digest('base64url'));
    }
  });
});

describe('iso', () => {
  it('answers each instant, also when it alternates with the one it kept', () => {
    const a = Date.UTC(2026, 10, 23, 12, 0, 0, 1);
    expect([iso(a), iso(a), iso(a + 1), iso(a)]).toEqual([
      '2026-11-23T12:00:00.001Z', '2026-11-23T12:00:00.001Z', '2026-11-23T12:00:00.002Z', '2026-11-23T12:00:00.001Z',
    ]);
  });
});
