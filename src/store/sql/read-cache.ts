/**
 * A small memo for rows every request reads (credentials, products by key). The store drops
 * entries itself whenever it changes those rows. On an embedded store this process is the only
 * writer, so entries live until then; on a shared store another server may change a row, so
 * entries also age out after `ttlMs` (the longest a change made elsewhere — a revoked key, an
 * edited product — goes unseen here). Ages use the monotonic process clock: this is cache
 * upkeep, not domain time, which the store always takes from its caller.
 */
export class ReadCache<V> {
  private readonly entries = new Map<string, { v: V; at: number }>();

  constructor(private readonly ttlMs: number, private readonly max = 10_000) {}

  get(k: string): V | undefined {
    const e = this.entries.get(k);
    if (!e) return undefined;
    if (performance.now() - e.at > this.ttlMs) {
      this.entries.delete(k);
      return undefined;
    }
    return e.v;
  }

  set(k: string, v: V): void {
    if (this.entries.size >= this.max) this.entries.clear();
    this.entries.set(k, { v, at: performance.now() });
  }

  clear(): void {
    this.entries.clear();
  }
}
