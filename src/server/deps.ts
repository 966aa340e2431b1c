import { hash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

/** Time is an input (ENGINEERING.md §1): tests pass a fake clock. */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

/** `fn` run so that calls while a run is in progress share it instead of starting another. */
export function singleFlight<T>(fn: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | null = null;
  return () => {
    running ??= fn().finally(() => {
      running = null;
    });
    return running;
  };
}

/** One event-loop turn, from the first caller of `thisTurn` to the check phase that ends it. */
export interface Turn {
  /** Whether the turn's check phase has come. */
  ended: boolean;
  /** Settles in that check phase. */
  readonly end: Promise<void>;
}

let turn: Turn | null = null;

/**
 * The current event-loop turn, ending in its check phase (one `setImmediate` shared by every
 * caller of that turn). An answer that would otherwise be written the moment its request is
 * read (a heartbeat needs no store) waits for it, so that the answers to all the requests
 * read in one turn leave together, as the answers of a group commit do. Written one by one,
 * each wakes its client while this process is still reading the others, and the ping-pong
 * costs more per request than the work itself: heartbeats went from about 22k to 29k per
 * second on the bench machine (docs/architecture.md, "Answers leave at the end of the turn").
 * The price is at most one turn of latency, which under light load is microseconds.
 */
export function thisTurn(): Turn {
  if (turn) return turn;
  let resolve!: () => void;
  const t: Turn = { ended: false, end: new Promise<void>((r) => (resolve = r)) };
  turn = t;
  setImmediate(() => {
    turn = null;
    t.ended = true;
    resolve();
  });
  return t;
}

/** The end of the current turn (see `thisTurn`). */
export function endOfTurn(): Promise<void> {
  return thisTurn().end;
}

/** A clock tests move by hand. */
export class FakeClock implements Clock {
  constructor(private t: number) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }
  set(t: number): void {
    this.t = t;
  }
}

const B32 = '0123456789abcdefghjkmnpqrstvwxyz';

let lastTime = 0;
let counter = 0;

/**
 * Time-sortable opaque ids (`<prefix>_<10 chars of ms time><3 chars of counter><9 random>`),
 * strictly increasing within a process, so that keyset pagination on the id follows
 * creation order.
 */
export function newId(prefix: string, now: number): string {
  if (now > lastTime) {
    lastTime = now;
    counter = 0;
  } else {
    counter++;
    if (counter >= 32 ** 3) {
      lastTime++;
      counter = 0;
    }
  }
  return `${prefix}_${b32(lastTime, 10)}${b32(counter, 3)}${randomB32(9)}`;
}

function b32(n: number, width: number): string {
  let out = '';
  for (let i = 0; i < width; i++) {
    out = B32[n % 32]! + out;
    n = Math.floor(n / 32);
  }
  return out;
}

/**
 * Random bytes drawn from a pooled buffer refilled 4 KiB at a time from the CSPRNG: one
 * system call per ~100 ids and secrets instead of one each (each acquisition needs several).
 */
const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let poolAt = 0;
function random(n: number): Buffer {
  if (poolAt + n > pool.length) {
    pool = randomBytes(POOL_SIZE);
    poolAt = 0;
  }
  const out = pool.subarray(poolAt, poolAt + n);
  poolAt += n;
  return out;
}

function randomB32(len: number): string {
  let s = '';
  // 256 is a multiple of 32: every character is uniform.
  for (const b of random(len)) s += B32[b % 32];
  return s;
}

/** An unguessable bearer secret: 256 random bits, base64url, with a readable kind prefix. */
export function newSecret(prefix: string): string {
  return `${prefix}_${random(32).toString('base64url')}`;
}

/** A short join code a person can type: 10 characters of Crockford base32 (50 bits). */
export function newJoinCode(): string {
  return randomB32(10).toUpperCase();
}

/**
 * Tokens are high-entropy random values, so a fast hash is enough to keep them useless if
 * the database leaks (a slow hash protects low-entropy passwords; see `hashPassword`).
 */
export function hashToken(token: string): string {
  // The one-shot form: about a third of createHash's cost for a short input, and every
  // request hashes its bearer token.
  return hash('sha256', token, 'base64url');
}

const scryptAsync = promisify(scrypt) as (pw: string, salt: Buffer, len: number, opts: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;
const SCRYPT = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

/** scrypt with a random 16-byte salt, encoded with its parameters so they can change later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, 32, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const [alg, n, r, p, salt, key] = encoded.split('$');
  if (alg !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64url');
  const got = await scryptAsync(password, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n), r: Number(r), p: Number(p), maxmem: SCRYPT.maxmem,
  });
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** A hash of a password nobody has, so that a login for an unknown user costs the same time. */
export const DUMMY_PASSWORD_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
