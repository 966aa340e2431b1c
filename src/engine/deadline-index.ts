/**
 * A min-heap of deadlines with a map from key to heap slot (etcd's lessor pattern): the
 * expiry loop finds what is due without scanning. The index only *detects*; the caller acts
 * on what `popDue` returns, a bounded number at a time.
 *
 * Moving a deadline later (every heartbeat does) is O(1): the entry keeps its place under its
 * old time and records the new one (`due`); it is moved down only when its old time comes
 * up at the top — once per timeout instead of once per heartbeat. An entry's heap time is
 * never later than its due time, so the top, once settled, is the earliest deadline.
 */
export class DeadlineIndex<K> {
  private readonly heap: { key: K; at: number; due: number }[] = [];
  private readonly slot = new Map<K, number>();

  get size(): number {
    return this.heap.length;
  }

  has(key: K): boolean {
    return this.slot.has(key);
  }

  deadline(key: K): number | undefined {
    const i = this.slot.get(key);
    return i === undefined ? undefined : this.heap[i]?.due;
  }

  /** Insert or move `key` to deadline `at`. */
  set(key: K, at: number): void {
    const i = this.slot.get(key);
    if (i === undefined) {
      this.heap.push({ key, at, due: at });
      this.slot.set(key, this.heap.length - 1);
      this.up(this.heap.length - 1);
      return;
    }
    const entry = this.heap[i]!;
    entry.due = at;
    if (at >= entry.at) return; // later: settled lazily (see the class comment)
    entry.at = at;
    this.up(i);
  }

  delete(key: K): boolean {
    const i = this.slot.get(key);
    if (i === undefined) return false;
    const last = this.heap.pop()!;
    this.slot.delete(key);
    if (i < this.heap.length) {
      this.heap[i] = last;
      this.slot.set(last.key, i);
      this.up(i);
      this.down(i);
    }
    return true;
  }

  /** The earliest deadline, if any. */
  peek(): { key: K; at: number } | undefined {
    const top = this.settledTop();
    return top ? { key: top.key, at: top.at } : undefined;
  }

  /**
   * Remove and return up to `max` keys whose deadline is at or before `now`, earliest first.
   * Only entries whose old time has passed are settled on the way (an entry whose old time is
   * still ahead cannot be due), at most `settleBudget` of them per call: after a wave of
   * heartbeats most entries are extended, and settling them all at once held the event loop
   * for milliseconds. `more(now)` says whether a call that stopped short has work left.
   */
  popDue(now: number, max: number, settleBudget = 1000): K[] {
    const due: K[] = [];
    let settled = 0;
    while (due.length < max) {
      const top = this.heap[0];
      if (!top || top.at > now) break;
      if (top.due !== top.at) {
        if (settled++ >= settleBudget) break;
        top.at = top.due;
        this.down(0);
        continue;
      }
      due.push(top.key);
      this.delete(top.key);
    }
    return due;
  }

  /** Whether an entry's (old or current) time is at or before `now`: `popDue` has work. */
  more(now: number): boolean {
    const top = this.heap[0];
    return top !== undefined && top.at <= now;
  }

  /** Moves entries whose deadline was extended down to their place until the top is current. */
  private settledTop(): { key: K; at: number; due: number } | undefined {
    for (;;) {
      const top = this.heap[0];
      if (!top || top.due === top.at) return top;
      top.at = top.due;
      this.down(0);
    }
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.at <= h[i]!.at) break;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l]!.at < h[m]!.at) m = l;
      if (r < h.length && h[r]!.at < h[m]!.at) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(a: number, b: number): void {
    const h = this.heap;
    const x = h[a]!;
    const y = h[b]!;
    h[a] = y;
    h[b] = x;
    this.slot.set(y.key, a);
    this.slot.set(x.key, b);
  }
}
