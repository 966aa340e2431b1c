/**
 * Statements over many rows at once, in few statement texts: every distinct text is a
 * prepared statement the driver keeps, so lists are padded or cut to powers of two.
 */

/** Most ids one `inList` takes: callers with more cut them into slices (`slices`). */
export const MAX_LIST = 256;

/** Consecutive slices of at most `size` items. */
export function slices<T>(items: readonly T[], size = MAX_LIST): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * `column IN (?, …)` for a non-empty list of ids. One id is `column = ?`; more are padded to
 * a power of two by repeating the last, which changes nothing in an IN list.
 */
export function inList(column: string, ids: readonly string[]): { sql: string; params: string[] } {
  const last = ids[ids.length - 1];
  if (last === undefined || ids.length > MAX_LIST) throw new Error(`inList: ${ids.length} ids`);
  if (ids.length === 1) return { sql: `${column} = ?`, params: [last] };
  let n = 2;
  while (n < ids.length) n *= 2;
  const params = [...ids];
  while (params.length < n) params.push(last);
  return { sql: `${column} IN (${'?, '.repeat(n - 1)}?)`, params };
}

/** Consecutive slices of `items` whose lengths are powers of two, at most `max` (a power of two). */
export function* powerOfTwoChunks<T>(items: readonly T[], max = 64): Generator<T[]> {
  for (let i = 0; i < items.length;) {
    let n = max;
    while (n > items.length - i) n >>= 1;
    yield items.slice(i, i + n);
    i += n;
  }
}
