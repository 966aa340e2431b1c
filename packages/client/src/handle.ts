import { Emitter } from './emitter.js';
import { FATAL_CODES, SeatkeeperError } from './errors.js';
import { SeatkeeperApi } from './http.js';
import { onPageLifecycle, onProcessExit } from './lifecycle.js';
import { SseParser, readEventStream, type SseEvent } from './sse.js';
import { backoffDelay, systemTimers, type Timers } from './timers.js';
import type { AcquireOptions, AcquireRequest, HandleState, Lease, SeatEvents, SessionInfo, Ticket } from './types.js';

const REQUEST_FIELDS = ['product', 'device', 'user', 'clientType', 'channel', 'platform', 'join', 'hold', 'wait', 'flex', 'ppu', 'meta'] as const;
/** Answers to a heartbeat or stream that mean "this session is gone": start again. */
const SESSION_GONE = new Set(['session-ended', 'not-found', 'unauthorized']);

interface TicketAnswer {
  status: 'waiting' | 'granted' | 'expired' | 'cancelled';
  position?: number;
  lease?: Lease;
  session?: SessionInfo;
}

/**
 * Starts holding a seat of a product and keeps holding it: registers, heartbeats at the
 * server's interval, follows the session's event stream, and starts again whenever the seat
 * is lost (refused, server unreachable, session removed, lease ended), with capped
 * exponential backoff and full jitter. Call `release()` when done.
 */
export function acquire(options: AcquireOptions): SeatHandle {
  const handle = new SeatHandle(options);
  handle.start();
  return handle;
}

/**
 * A seat being held. Every asynchronous step captures `gen` and drops its result if the
 * handle moved on meanwhile (a new session, an end, a release), so late answers never act
 * on a session that is no longer this handle's.
 */
export class SeatHandle extends Emitter<SeatEvents> {
  state: HandleState = 'connecting';
  lease: Lease | null = null;
  session: SessionInfo | null = null;
  ticket: Ticket | null = null;
  /** Consecutive failed attempts (refusals, unreachable server); 0 after any success. */
  failures = 0;
  lastError: SeatkeeperError | null = null;
  /** When a terminating lease ends (null unless terminating). */
  terminatingAt: Date | null = null;
  /** The administrator's message with the termination notice. */
  terminatingMessage: string | null = null;
  readonly api: SeatkeeperApi;

  private readonly o: AcquireOptions;
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly request: AcquireRequest;
  private gen = 0;
  private timer: unknown = null;
  private streamTimer: unknown = null;
  private streamAbort: AbortController | null = null;
  private lastEventId: string | null = null;
  private streamRetryMs = 3000;
  private streamFailures = 0;
  private grants = 0;
  private leaseStatus: string | null = null;
  private started = false;
  private hiddenRelease = false;
  private releasing: Promise<boolean> | null = null;
  private readonly uninstall: (() => void)[] = [];

  constructor(options: AcquireOptions) {
    super();
    if (!options.url) throw new TypeError('acquire: `url` is required');
    if (!options.token) throw new TypeError('acquire: `token` is required');
    this.o = options;
    this.timers = options.timers ?? systemTimers;
    this.random = options.random ?? Math.random;
    this.api = new SeatkeeperApi({ url: options.url, token: options.token, timeout: options.requestTimeout, fetch: options.fetch, timers: this.timers });
    const request: Record<string, unknown> = {};
    for (const k of REQUEST_FIELDS) if (options[k] !== undefined) request[k] = options[k];
    this.request = request as AcquireRequest;
  }

  /** Registers (called by `acquire`). */
  start(): void {
    if (this.started) return;
    this.started = true;
    if (this.o.releaseOnPageHide !== false) {
      this.uninstall.push(
        onPageLifecycle(
          () => {
            if (this.state === 'released' || this.state === 'failed') return;
            this.hiddenRelease = true;
            void this.release({ keepalive: true });
          },
          () => {
            // Back from the back/forward cache: hold a seat again.
            if (!this.hiddenRelease) return;
            this.hiddenRelease = false;
            this.releasing = null;
            this.setState('connecting');
            void this.register();
          },
        ),
      );
    }
    if (this.o.releaseOnExit) this.uninstall.push(onProcessExit(() => this.release({ timeout: 3000 })));
    void this.register();
  }

  /** Whole seconds until a terminating lease ends (0 when not terminating or past). */
  get secondsLeft(): number {
    if (!this.terminatingAt) return 0;
    return Math.max(0, Math.ceil((this.terminatingAt.getTime() - this.timers.now()) / 1000));
  }

  /**
   * Gives the seat back: closes the session (`DELETE /v1/sessions/{id}`) or drops the queue
   * ticket, and stops every timer. Resolves true when the server confirmed (or there was
   * nothing to give back), false when it could not be reached; the session then simply
   * times out. `keepalive` lets the request outlive a closing page.
   */
  release(o: { keepalive?: boolean; timeout?: number } = {}): Promise<boolean> {
    if (this.releasing) return this.releasing;
    const { session, ticket, lease } = this;
    this.stopSession();
    this.session = null;
    this.ticket = null;
    if (!this.hiddenRelease) this.removeHooks();
    this.setState('released');
    const work: Promise<unknown>[] = [];
    const opts = { keepalive: o.keepalive ?? false, ...(o.timeout !== undefined && { timeout: o.timeout }) };
    if (session) work.push(this.api.request('DELETE', `/v1/sessions/${enc(session.id)}`, { token: session.token, ...opts }).catch(goneIsFine));
    if (ticket) work.push(this.api.request('DELETE', `/v1/tickets/${enc(ticket.id)}`, { token: ticket.token, ...opts }).catch(goneIsFine));
    this.releasing = Promise.allSettled(work).then((results) => {
      this.emit('released', { lease });
      return results.every((r) => r.status === 'fulfilled');
    });
    return this.releasing;
  }

  // ── registration ──────────────────────────────────────────────────────────────────────
  private async register(): Promise<void> {
    const gen = this.gen;
    this.setState('connecting');
    let answer: { status: number; body: { lease?: Lease; session?: SessionInfo; ticket?: Ticket } };
    try {
      answer = await this.api.request('POST', '/v1/leases', { body: this.request });
    } catch (e) {
      if (gen !== this.gen) return;
      return this.failed('register', toError(e), () => this.register());
    }
    const { lease, session, ticket } = answer.body;
    if (gen !== this.gen) {
      // Released while the request was on its way: give back what it got.
      if (session) void this.api.request('DELETE', `/v1/sessions/${enc(session.id)}`, { token: session.token }).catch(goneIsFine);
      if (ticket) void this.api.request('DELETE', `/v1/tickets/${enc(ticket.id)}`, { token: ticket.token }).catch(goneIsFine);
      return;
    }
    this.succeeded();
    if (answer.status === 202 && ticket) return this.onTicket(ticket);
    if (!lease || !session) return this.failed('register', new SeatkeeperError('invalid-response', answer.status, 'no lease and session in the answer'), () => this.register());
    this.onGranted(lease, session);
  }

  private onGranted(lease: Lease, session: SessionInfo): void {
    this.stopSession();
    const gen = this.gen;
    this.lease = lease;
    this.session = session;
    this.ticket = null;
    this.lastEventId = null;
    this.streamFailures = 0;
    this.terminatingAt = null;
    this.terminatingMessage = null;
    this.leaseStatus = lease.status;
    this.setState('held');
    this.emit('granted', { lease, session, reacquired: this.grants++ > 0 });
    if (gen !== this.gen) return; // a listener released
    this.schedule(session.heartbeatInterval * 1000, () => this.heartbeat());
    if (this.o.stream !== false) this.openStream(gen);
    if (lease.status !== 'active') this.applyStatus(lease, null);
  }

  // ── queue ─────────────────────────────────────────────────────────────────────────────
  private onTicket(ticket: Ticket): void {
    this.ticket = ticket;
    this.setState('queued');
    this.emit('queued', { ticket });
    this.schedulePoll();
  }

  private schedulePoll(): void {
    const t = this.ticket;
    if (!t) return;
    const every = this.o.ticketPollInterval ?? 5000;
    const left = Date.parse(t.expiresAt) - this.timers.now();
    // Poll well inside the ticket's timeout: polling is what keeps it alive.
    this.schedule(Number.isFinite(left) ? Math.max(500, Math.min(every, left / 3)) : every, () => this.pollTicket());
  }

  private async pollTicket(): Promise<void> {
    const t = this.ticket;
    if (!t) return;
    const gen = this.gen;
    let answer: TicketAnswer;
    try {
      answer = (await this.api.request<TicketAnswer>('GET', `/v1/tickets/${enc(t.id)}`, { token: t.token })).body;
    } catch (e) {
      if (gen !== this.gen) return;
      const err = toError(e);
      if (err.status === 404 || err.status === 410 || err.status === 401) {
        // The ticket is gone (or this server keeps no tickets): ask again from the start.
        this.ticket = null;
        return this.failed('ticket', err, () => this.register());
      }
      return this.failed('ticket', err, () => this.pollTicket());
    }
    if (gen !== this.gen) return;
    this.succeeded();
    switch (answer.status) {
      case 'granted':
        if (answer.lease && answer.session) return this.onGranted(answer.lease, answer.session);
        this.ticket = null;
        return void this.register();
      case 'waiting':
        if (typeof answer.position === 'number' && answer.position !== t.position) {
          this.ticket = { ...t, position: answer.position };
          this.emit('queued', { ticket: this.ticket });
        }
        return this.schedulePoll();
      default:
        this.ticket = null;
        return void this.register();
    }
  }

  // ── heartbeats ────────────────────────────────────────────────────────────────────────
  private async heartbeat(): Promise<void> {
    const s = this.session;
    if (!s) return;
    const gen = this.gen;
    let body: { expiresAt: string; lease: Lease };
    try {
      body = (await this.api.request<{ expiresAt: string; lease: Lease }>('POST', `/v1/sessions/${enc(s.id)}/heartbeat`, { token: s.token })).body;
    } catch (e) {
      if (gen !== this.gen) return;
      const err = toError(e);
      if (SESSION_GONE.has(err.code)) {
        this.succeeded();
        return this.onEnded(err.reason ?? err.code);
      }
      // Unreachable or failing: keep the session and keep trying, at least once per interval.
      // The server's answer when it is back decides: 200 (carry on) or 410 (start again).
      return this.failed('heartbeat', err, () => this.heartbeat(), s.heartbeatInterval * 1000);
    }
    if (gen !== this.gen) return;
    this.succeeded();
    this.session = { ...s, expiresAt: body.expiresAt };
    this.lease = body.lease;
    this.schedule(s.heartbeatInterval * 1000, () => this.heartbeat());
    this.emit('heartbeat', { expiresAt: new Date(body.expiresAt), lease: body.lease });
    if (gen === this.gen) this.applyStatus(body.lease, null);
  }

  // ── event stream ──────────────────────────────────────────────────────────────────────
  private openStream(gen: number): void {
    const s = this.session;
    if (!s || gen !== this.gen) return;
    const abort = new AbortController();
    this.streamAbort = abort;
    const parser = new SseParser(
      (e) => this.onStreamEvent(gen, e),
      (ms) => (this.streamRetryMs = ms),
      this.lastEventId,
    );
    const run = async () => {
      let res: Response;
      try {
        res = await this.api.send(
          'GET',
          `/v1/sessions/${enc(s.id)}/events`,
          { token: s.token, signal: abort.signal, headers: { accept: 'text/event-stream', ...(this.lastEventId !== null && { 'last-event-id': this.lastEventId }) } },
          false,
        );
      } catch (e) {
        if (gen !== this.gen) return;
        const err = toError(e);
        // The session may be gone: a heartbeat now finds out and starts again if so.
        if (SESSION_GONE.has(err.code)) return this.schedule(0, () => this.heartbeat());
        this.streamFailures++;
        return this.reconnectStream(gen, backoffDelay(this.streamFailures, this.o.backoff, this.random));
      }
      this.streamFailures = 0;
      this.emit('connected', { lastEventId: this.lastEventId });
      try {
        await readEventStream(res, parser, abort.signal);
      } catch {
        /* dropped: reconnect below */
      }
      if (gen !== this.gen) return;
      this.reconnectStream(gen, this.streamRetryMs);
    };
    void run();
  }

  private reconnectStream(gen: number, delay: number): void {
    if (gen !== this.gen) return;
    if (this.streamTimer !== null) this.timers.clearTimeout(this.streamTimer);
    this.streamTimer = this.timers.setTimeout(() => {
      this.streamTimer = null;
      this.openStream(gen);
    }, delay);
  }

  private onStreamEvent(gen: number, e: SseEvent): void {
    if (gen !== this.gen) return;
    this.lastEventId = e.id;
    const data = parseObject(e.data);
    this.emit('message', { type: e.event, data, id: e.id });
    if (gen !== this.gen) return;
    switch (e.event) {
      case 'lease.terminating': {
        const at = typeof data.endsAt === 'string' ? data.endsAt : typeof data.at === 'string' ? data.at : null;
        this.applyStatus({ ...this.lease!, status: 'terminating', endsAt: at }, data);
        // The lease's `endsAt` is authoritative for the countdown: a heartbeat now brings it
        // (and emits `terminating` again if it differs from the event's time).
        if (gen === this.gen) this.schedule(0, () => this.heartbeat());
        break;
      }
      case 'lease.paused':
        this.applyStatus({ ...this.lease!, status: 'paused' }, data);
        break;
      case 'lease.resumed':
        this.applyStatus({ ...this.lease!, status: 'active' }, data);
        break;
      case 'lease.upgraded': {
        const lease = isLease(data.lease) ? data.lease : this.lease && { ...this.lease, kind: 'regular' };
        this.lease = lease;
        this.emit('upgraded', { lease, data });
        break;
      }
      case 'lease.ended':
        this.onEnded(typeof data.reason === 'string' ? data.reason : 'ended');
        break;
    }
  }

  /** Tells listeners about a change of the lease's status, whichever way it was learnt. */
  private applyStatus(lease: Lease, data: Record<string, unknown> | null): void {
    const before = this.leaseStatus;
    this.lease = lease;
    this.leaseStatus = lease.status;
    if (lease.status === 'terminating') {
      const at = lease.endsAt ? new Date(lease.endsAt) : null;
      const changed = before !== 'terminating' || (at && this.terminatingAt?.getTime() !== at.getTime());
      this.terminatingAt = at;
      if (typeof data?.message === 'string') this.terminatingMessage = data.message;
      if (changed && at) this.emit('terminating', { at, message: this.terminatingMessage, secondsLeft: this.secondsLeft });
      return;
    }
    this.terminatingAt = null;
    this.terminatingMessage = null;
    if (lease.status === 'paused' && before !== 'paused') this.emit('paused', { data: data ?? {} });
    else if (lease.status === 'active' && before === 'paused') this.emit('resumed', { data: data ?? {} });
    else if (lease.status === 'ended') this.onEnded(lease.endReason ?? 'ended');
  }

  private onEnded(reason: string): void {
    if (this.state !== 'held') return;
    const lease = this.lease && { ...this.lease, status: 'ended', endReason: this.lease.endReason ?? reason };
    this.stopSession();
    this.session = null;
    this.terminatingAt = null;
    const again = typeof this.o.reacquire === 'function' ? this.o.reacquire(reason) : this.o.reacquire !== false;
    this.setState(again ? 'connecting' : 'ended');
    const gen = this.gen;
    this.emit('ended', { reason, lease, reacquiring: again });
    if (again && gen === this.gen) void this.register();
    else if (!again) this.removeHooks();
  }

  // ── plumbing ──────────────────────────────────────────────────────────────────────────
  private failed(during: 'register' | 'heartbeat' | 'ticket', err: SeatkeeperError, retry: () => Promise<void> | void, cap = Infinity): void {
    this.failures++;
    this.lastError = err;
    if (during === 'register' && FATAL_CODES.has(err.code)) {
      this.stopSession();
      this.removeHooks();
      this.setState('failed');
      this.emit('error', { error: err, attempts: this.failures, fatal: true });
      return;
    }
    const delay = Math.min(cap, backoffDelay(this.failures, this.o.backoff, this.random));
    // Scheduled before telling anyone, so that a listener that releases also cancels it.
    this.schedule(delay, () => void retry());
    if (during !== 'heartbeat') this.setState('retrying');
    const gen = this.gen;
    this.emit('retrying', { attempt: this.failures, delay, error: err, during });
    if (gen === this.gen && this.failures >= (this.o.errorAfter ?? 3)) this.emit('error', { error: err, attempts: this.failures, fatal: false });
  }

  private succeeded(): void {
    this.failures = 0;
    this.lastError = null;
  }

  /** The one pending step of the main loop (register, heartbeat or ticket poll). */
  private schedule(ms: number, fn: () => Promise<void> | void): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    const gen = this.gen;
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      if (gen === this.gen) void fn();
    }, ms);
  }

  /** Ends everything tied to the current session; in-flight answers are then ignored. */
  private stopSession(): void {
    this.gen++;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    if (this.streamTimer !== null) this.timers.clearTimeout(this.streamTimer);
    this.timer = null;
    this.streamTimer = null;
    this.streamAbort?.abort();
    this.streamAbort = null;
  }

  private removeHooks(): void {
    for (const u of this.uninstall.splice(0)) u();
  }

  private setState(state: HandleState): void {
    if (state === this.state) return;
    const previous = this.state;
    this.state = state;
    this.emit('state', { state, previous });
  }
}

function toError(e: unknown): SeatkeeperError {
  if (e instanceof SeatkeeperError) return e;
  return new SeatkeeperError('network-error', 0, e instanceof Error ? e.message : String(e), {}, { cause: e });
}

/** A session or ticket that is already gone needs no releasing. */
function goneIsFine(e: unknown): void {
  if (e instanceof SeatkeeperError && (e.status === 404 || e.status === 410)) return;
  throw e;
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : { value: v };
  } catch {
    return { text };
  }
}

function isLease(v: unknown): v is Lease {
  return typeof v === 'object' && v !== null && typeof (v as { id?: unknown }).id === 'string';
}

const enc = encodeURIComponent;
