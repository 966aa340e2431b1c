import { describe, expect, it } from 'vitest';
import { endOfTurn } from '../../src/server/deps.js';

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
