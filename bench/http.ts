/**
 * Keep-alive HTTP/1.1 clients and latency sample sets. Two clients with one interface:
 * `NodeClient` (node:http with a keep-alive Agent) and `RawClient` (node:net sockets with a
 * minimal response parser, one request in flight per connection, no pipelining). The raw
 * client costs the generator about half the CPU per request, which matters because the
 * generator has a single core and must outrun a bare Fastify route.
 */
import http from 'node:http';
import net from 'node:net';

export interface Target {
  host: string;
  port: number;
}

export interface Resp {
  status: number;
  /** The body as text when asked for, else ''. */
  body: string;
}

export interface ReqSpec {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  token?: string;
  /** JSON body; omitted bodies send no content-type and content-length 0. */
  json?: unknown;
  /** Read and return the body (otherwise it is drained). */
  wantBody?: boolean;
}

export interface Client {
  readonly connections: number;
  request(spec: ReqSpec): Promise<Resp>;
  close(): void;
}

export type ClientKind = 'raw' | 'node';

/** The client kind the generator uses: SEATKEEPER_BENCH_CLIENT=raw|node (default raw). */
export function clientKind(): ClientKind {
  return process.env.SEATKEEPER_BENCH_CLIENT === 'node' ? 'node' : 'raw';
}

export function makeClient(target: Target, connections: number, kind: ClientKind = clientKind()): Client {
  return kind === 'node' ? new NodeClient(target, connections) : new RawClient(target, connections);
}

/** A pool of keep-alive connections to one server, through node:http. */
export class NodeClient implements Client {
  readonly agent: http.Agent;

  constructor(
    readonly target: Target,
    readonly connections: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections, scheduling: 'fifo' });
  }

  request(spec: ReqSpec): Promise<Resp> {
    return new Promise((resolve, reject) => {
      const payload = spec.json === undefined ? null : Buffer.from(JSON.stringify(spec.json));
      const headers: http.OutgoingHttpHeaders = { 'content-length': payload ? payload.length : 0 };
      if (payload) headers['content-type'] = 'application/json';
      if (spec.token !== undefined) headers.authorization = `Bearer ${spec.token}`;
      const req = http.request(
        { agent: this.agent, host: this.target.host, port: this.target.port, method: spec.method, path: spec.path, headers },
        (res) => {
          const status = res.statusCode ?? 0;
          if (spec.wantBody) {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (body += chunk));
            res.on('end', () => resolve({ status, body }));
          } else {
            res.on('end', () => resolve({ status, body: '' }));
            res.resume();
          }
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload ?? undefined);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

interface Pending {
  resolve: (r: Resp) => void;
  reject: (e: Error) => void;
  wantBody: boolean;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

/** One keep-alive socket; one request at a time. */
class RawConn {
  private readonly socket: net.Socket;
  private buf: Buffer | null = null;
  private current: Pending | null = null;
  /** Parsed head of the response being read: status and body length (-1: chunked). */
  private head: { status: number; length: number; bodyStart: number } | null = null;
  dead = false;

  constructor(
    target: Target,
    private readonly onFree: (c: RawConn) => void,
    onDead: (c: RawConn) => void,
  ) {
    this.socket = net.connect({ host: target.host, port: target.port });
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const fail = (e: Error) => {
      const wasDead = this.dead;
      this.dead = true;
      const p = this.current;
      this.current = null;
      p?.reject(e);
      if (!wasDead) onDead(this);
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(new Error('connection closed')));
  }

  send(raw: string, p: Pending): void {
    this.current = p;
    this.socket.write(raw, 'utf8');
  }

  destroy(): void {
    this.dead = true; // set first: the close that follows is not reported as a death
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      const buf: Buffer | null = this.buf;
      if (!buf) return;
      if (!this.head) {
        const end = buf.indexOf(CRLFCRLF);
        if (end < 0) return;
        const headText = buf.toString('latin1', 0, end);
        const status = Number(headText.slice(9, 12));
        let length = 0;
        const cl = /\r\ncontent-length:\s*(\d+)/i.exec(headText);
        if (cl) length = Number(cl[1]);
        else if (/\r\ntransfer-encoding:\s*chunked/i.test(headText)) length = -1;
        if (status === 204 || status === 304) length = 0;
        this.head = { status, length, bodyStart: end + 4 };
      }
      const { status, length, bodyStart } = this.head;
      let body: string;
      let consumed: number;
      if (length >= 0) {
        if (buf.length < bodyStart + length) return;
        consumed = bodyStart + length;
        body = this.current?.wantBody ? buf.toString('utf8', bodyStart, consumed) : '';
      } else {
        const parsed = parseChunked(buf, bodyStart);
        if (!parsed) return;
        consumed = parsed.end;
        body = this.current?.wantBody ? parsed.body.toString('utf8') : '';
      }
      this.head = null;
      this.buf = consumed < buf.length ? buf.subarray(consumed) : null;
      const p = this.current;
      this.current = null;
      this.onFree(this);
      p?.resolve({ status, body });
    }
  }
}

function parseChunked(buf: Buffer, from: number): { body: Buffer; end: number } | null {
  const parts: Buffer[] = [];
  let at = from;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return null;
    const size = parseInt(buf.toString('latin1', at, eol), 16);
    if (Number.isNaN(size)) throw new Error('bad chunked encoding');
    if (size === 0) {
      // No trailers from Fastify: the body ends with "0\r\n\r\n".
      if (buf.length < eol + 4) return null;
      return { body: Buffer.concat(parts), end: eol + 4 };
    }
    if (buf.length < eol + 2 + size + 2) return null;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/** Keep-alive HTTP/1.1 over raw sockets: up to `connections` sockets, requests queue for a free one. */
export class RawClient implements Client {
  private readonly idle: RawConn[] = [];
  private readonly all = new Set<RawConn>();
  private readonly waiting: { raw: string; p: Pending }[] = [];
  private waitHead = 0;
  private readonly hostHeader: string;
  private closed = false;

  constructor(
    readonly target: Target,
    readonly connections: number,
  ) {
    this.hostHeader = `Host: ${target.host}:${target.port}\r\n`;
  }

  request(spec: ReqSpec): Promise<Resp> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('client closed'));
      const body = spec.json === undefined ? '' : JSON.stringify(spec.json);
      let raw = `${spec.method} ${spec.path} HTTP/1.1\r\n${this.hostHeader}`;
      if (spec.token !== undefined) raw += `Authorization: Bearer ${spec.token}\r\n`;
      if (body) raw += 'Content-Type: application/json\r\n';
      raw += `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      const p: Pending = { resolve, reject, wantBody: spec.wantBody === true };
      const conn = this.take();
      if (conn) conn.send(raw, p);
      else this.waiting.push({ raw, p });
    });
  }

  close(): void {
    this.closed = true;
    for (const c of this.all) c.destroy();
    this.all.clear();
    this.idle.length = 0;
    for (let i = this.waitHead; i < this.waiting.length; i++) this.waiting[i]!.p.reject(new Error('client closed'));
    this.waiting.length = 0;
  }

  private take(): RawConn | null {
    while (this.idle.length) {
      const c = this.idle.pop()!;
      if (!c.dead) return c;
      this.all.delete(c);
    }
    for (const c of this.all) if (c.dead) this.all.delete(c);
    if (this.all.size >= this.connections) return null;
    const c = new RawConn(
      this.target,
      (free) => this.release(free),
      (dead) => this.replace(dead),
    );
    this.all.add(c);
    return c;
  }

  /** A socket died: requests waiting for a free one get a fresh socket (or its error). */
  private replace(dead: RawConn): void {
    this.all.delete(dead);
    if (this.closed) return;
    while (this.waitHead < this.waiting.length) {
      const c = this.take();
      if (!c) return;
      const w = this.waiting[this.waitHead++]!;
      c.send(w.raw, w.p);
    }
  }

  private release(c: RawConn): void {
    if (this.closed) return;
    if (this.waitHead < this.waiting.length) {
      const w = this.waiting[this.waitHead++]!;
      if (this.waitHead > 4096 && this.waitHead * 2 > this.waiting.length) {
        this.waiting.splice(0, this.waitHead);
        this.waitHead = 0;
      }
      c.send(w.raw, w.p);
    } else {
      this.idle.push(c);
    }
  }
}

/** A growable set of numbers (latencies in ms) with percentiles. */
export class Samples {
  private buf = new Float64Array(1024);
  private n = 0;
  private sorted = true;

  add(v: number): void {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = v;
    this.sorted = false;
  }

  get count(): number {
    return this.n;
  }

  /** p in [0, 100]; nearest-rank. NaN when empty. */
  pct(p: number): number {
    if (this.n === 0) return Number.NaN;
    if (!this.sorted) {
      this.buf.subarray(0, this.n).sort();
      this.sorted = true;
    }
    const rank = Math.min(this.n - 1, Math.max(0, Math.ceil((p / 100) * this.n) - 1));
    return this.buf[rank]!;
  }

  max(): number {
    return this.pct(100);
  }
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export function summarize(s: Samples): LatencySummary {
  return { count: s.count, p50: s.pct(50), p99: s.pct(99), p999: s.pct(99.9), max: s.max() };
}

/** Counts of HTTP statuses (and 'error' for transport failures), e.g. { "200": 123 }. */
export type StatusCounts = Record<string, number>;

export function bump(counts: StatusCounts, key: string | number): void {
  const k = String(key);
  counts[k] = (counts[k] ?? 0) + 1;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
