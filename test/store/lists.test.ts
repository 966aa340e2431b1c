import { describe, expect, it } from 'vitest';
import { MAX_LIST, inList, powerOfTwoChunks, slices } from '../../src/store/sql/lists.js';

describe('statement lists', () => {
  it('inList: one id is an equality, more are padded to a power of two with the last id', () => {
    expect(inList('id', ['a'])).toEqual({ sql: 'id = ?', params: ['a'] });
    expect(inList('id', ['a', 'b'])).toEqual({ sql: 'id IN (?, ?)', params: ['a', 'b'] });
    expect(inList('lease_id', ['a', 'b', 'c'])).toEqual({ sql: 'lease_id IN (?, ?, ?, ?)', params: ['a', 'b', 'c', 'c'] });
    const fifty = Array.from({ length: 50 }, (_, i) => `s${i}`);
    const w = inList('id', fifty);
    expect(w.params).toHaveLength(64);
    expect(new Set(w.params)).toEqual(new Set(fifty));
    expect(w.sql.split('?')).toHaveLength(65);
  });

  it('inList refuses no ids and more than MAX_LIST', () => {
    expect(() => inList('id', [])).toThrow();
    expect(() => inList('id', Array.from({ length: MAX_LIST + 1 }, (_, i) => String(i)))).toThrow();
    expect(inList('id', Array.from({ length: MAX_LIST }, (_, i) => String(i))).params).toHaveLength(MAX_LIST);
  });

  it('powerOfTwoChunks: in order, each a power of two at most max', () => {
    const items = Array.from({ length: 150 }, (_, i) => i);
    const chunks = [...powerOfTwoChunks(items)];
    expect(chunks.map((c) => c.length)).toEqual([64, 64, 16, 4, 2]);
    expect(chunks.flat()).toEqual(items);
    expect([...powerOfTwoChunks([1], 8)]).toEqual([[1]]);
    expect([...powerOfTwoChunks([], 8)]).toEqual([]);
  });

  it('slices: consecutive, at most size each', () => {
    expect(slices([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(slices([], 2)).toEqual([]);
  });
});
