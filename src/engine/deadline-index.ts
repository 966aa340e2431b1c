/**
 * A min-heap of deadlines with a map from key to heap entry (etcd's lessor pattern): the
 * expiry loop finds what is due without scanning. The index only *detects*; the caller acts
 * on what `popDue` returns, a bounded number at a time.
 *
 * Moving a deadline later (every heartbeat does) is O(1): the entry keeps its place under its
 * old time and records the new one (`due`); it is moved down only when its old time comes
 * up at the top — once per timeout instead of once per heartbeat. An entry's heap time is
 * never later than its due time, so the top, once settled, is the earliest deadline.
 *
 * Each entry carries its own slot in the heap (`i`), so moving entries costs property writes;
 * the map is touched only when a key comes or goes. (Until session 16 the map held the slots,
 * and each of a sift's swaps wrote it twice: some 26 map writes per expired session with
 * 10,000 live ones, which showed in the event loop's profile during a storm.)
 */
interface Entry<K> {
  key: K;
  /** Its place in the heap's order (never later than `due`). */
  at: number;
  /** Its deadline. */
  due: number;
  /** Its slot in `heap`. */
  i: number;
}

export class DeadlineIndex<K> {
  private readonly heap: Entry<K>[] = [];
  private readonly entries = new Map<K, Entry<K>>();

  get size(): number {
    return this.heap.length;
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  deadline(key: K): number | undefined {
    return this.entries.get(key)?.due;
  }

  /** Insert or move `key` to deadline `at`. */
  set(key: K, at: number): void {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      const added: Entry<K> = { key, at, due: at, i: this.heap.length };
      this.heap.push(added);
      this.entries.set(key, added);
      this.up(added.i);
      return;
    }
    entry.due = at;
    if (at >= entry.at) return; // later: settled lazily (see the class comment)
    entry.at = at;
    this.up(entry.i);
  }

  delete(key: K): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    this.remove(entry);
    return true;
  }

  /** Takes out an entry already in hand (`popDue` holds the top: no lookup to find it). */
  private remove(entry: Entry<K>): void {
    this.entries.delete(entry.key);
    const last = this.heap.pop()!;
    if (last === entry) return;
    const i = entry.i;
    this.heap[i] = last;
    last.i = i;
    this.up(i);
    this.down(i);
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
      this.remove(top);
    }
    return due;
  }

  /** Whether an entry's (old or current) time is at or before `now`: `popDue` has work. */
  more(now: number): boolean {
    const top = this.heap[0];
    return top !== undefined && top.at <= now;
  }

  /** Moves entries whose deadline was extended down to their place until the top is current. */
  private settledTop(): Entry<K> | undefined {
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
    y.i = a;
    x.i = b;
  }
}
