/**
 * A small typed event emitter (browsers and Node alike, no dependency). A listener that
 * throws does not break the handle: its error is re-thrown on a fresh microtask, like
 * EventTarget's error reporting.
 */
export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<(payload: never) => void>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(type: K, fn: (payload: Events[K]) => void): () => void {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(fn as (payload: never) => void);
    return () => this.off(type, fn);
  }

  off<K extends keyof Events>(type: K, fn: (payload: Events[K]) => void): void {
    this.listeners.get(type)?.delete(fn as (payload: never) => void);
  }

  /** Resolves with the next `type` event's payload. */
  next<K extends keyof Events>(type: K): Promise<Events[K]> {
    return new Promise((resolve) => {
      const off = this.on(type, (p) => {
        off();
        resolve(p);
      });
    });
  }

  protected emit<K extends keyof Events>(type: K, payload: Events[K]): void {
    for (const fn of [...(this.listeners.get(type) ?? [])]) {
      try {
        (fn as (p: Events[K]) => void)(payload);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
