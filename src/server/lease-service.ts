/**
 * The imperative shell around the lease rules: it generates ids and secrets, asks the store
 * for atomic decisions, keeps the heartbeat deadlines in memory (a heartbeat writes
 * nothing), runs the timed actions, and hands the resulting events to the hub.
 */
import { DeadlineIndex } from '../engine/deadline-index.js';
import { heartbeatPolicy } from '../engine/seat.js';
import type { Hold } from '../engine/types.js';
import { ApiError } from '../errors.js';
import { createHmac } from 'node:crypto';
import type { AcquireOutcome, AlertCheck, DenialRecord, Lease, LeaseEvent, Product, Requester, Session, Store, Ticket, User } from '../store/types.js';
import { canControl, selfId, type Principal } from './auth.js';
import type { Permissions } from '../engine/types.js';
import { type Clock, hashToken, newId, newJoinCode, newSecret, singleFlight } from './deps.js';
import type { EventHub } from './event-hub.js';
import type { Metrics } from './metrics.js';
import { leaseJson } from './serialize.js';
import { isStoreUnavailable } from './problems.js';
import { HeartbeatCache } from './heartbeat-cache.js';

export interface AcquireInput {
  product?: string | undefined;
  device?: string | undefined;
  user?: string | undefined;
  clientType?: string | undefined;
  channel?: string | undefined;
  platform?: string | undefined;
  join?: string | undefined;
  hold?: Hold | undefined;
  standby?: boolean | undefined;
  wait?: boolean | undefined;
  flex?: boolean | undefined;
  ppu?: boolean | undefined;
  meta?: object | undefined;
}

export interface ServiceOptions {
  /** Sessions expired per store transaction. */
  expiryBatch: number;
  /**
   * Longest a tick keeps expiring (ms) before it moves on to lease timers and upkeep; it
   * yields to requests between batches all along.
   */
  tickBudgetMs: number;
  /** Where a refused user can end one of their leases. */
  manageUrl: string;
}

/**
 * A new lease's id and join code, made only if a lease is created: most requests under
 * contention are refused, and a refusal needs neither. Each is made once, at first use, and
 * stays the same if the store runs the transaction again. (A class: its getters are on the
 * prototype, where an object literal's would be made again for every request.)
 */
class LazyLease {
  private madeId: string | undefined;
  private madeCode: string | undefined;
  constructor(private readonly now: number) {}
  get id(): string {
    return (this.madeId ??= newId('lse', this.now));
  }
  get joinCode(): string {
    return (this.madeCode ??= newJoinCode());
  }
}

/** A new session's id and secret, made the same way: only if a session starts, and once. */
class LazySession {
  private madeId: string | undefined;
  private madeToken: string | undefined;
  private madeHash: string | undefined;
  constructor(private readonly now: number, readonly interval: number, readonly timeout: number) {}
  get id(): string {
    return (this.madeId ??= newId('ses', this.now));
  }
  get token(): string {
    return (this.madeToken ??= newSecret('sss'));
  }
  get tokenHash(): string {
    return (this.madeHash ??= hashToken(this.token));
  }
}

export class LeaseService {
  readonly deadlines = new DeadlineIndex<string>();
  /** Deadlines not yet written back, for stores shared by several servers. */
  private readonly pendingTouches = new Map<string, number>();
  /** Set when timed work failed because the store was unreachable. */
  private storeWasDown = false;
  private lastPeaks = Number.NEGATIVE_INFINITY;
  /**
   * Embedded store only (this process is its only writer): what a heartbeat needs, kept in
   * memory so that a heartbeat reads nothing. Entries are dropped on every change the
   * service makes or hears of (events), and rebuilt from the store on a miss.
   */
  private readonly hot = new HeartbeatCache();
  /**
   * Expiry batches the store has not finished (their sessions' deadline passed), each with its
   * ids and a promise settled when it is done. A heartbeat for one of their sessions waits for
   * it, then finds the session ended: answered from `hot` meanwhile, it would be told its
   * session lives just before it ends. (Mostly none, at most one: the ticks run one at a time.
   * A heartbeat searches a batch's 50 ids only while one is in flight, rather than each batch
   * writing and deleting 50 map entries, the larger cost in a storm.)
   */
  private readonly expiring: { ids: readonly string[]; settled: Promise<void> }[] = [];
  /** The last no-seat refusal per product object (`sameNoSeat`). */
  private readonly lastNoSeat = new WeakMap<Product, { inUse: number; capacity: number; error: ApiError }>();
  /** Refusals not yet written (written by the next tick, in one transaction). */
  private readonly denials: DenialRecord[] = [];

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly hub: EventHub,
    private readonly metrics: Metrics,
    private readonly opts: ServiceOptions,
  ) {}

  /**
   * Restart recovery: every live session gets a full timeout window from now. On an
   * embedded store this server times them all; on a shared store the sweep does, whichever
   * server saw them last.
   */
  async recover(): Promise<number> {
    const now = this.clock.now();
    const live = await this.store.recoverSessions(now);
    if (!this.store.shared) for (const s of live) this.deadlines.set(s.id, now + s.timeout * 1000);
    return live.length;
  }

  /**
   * Shared stores: relays events committed by other servers to this server's streams.
   * Events this server produced arrive twice (published at once, then announced); streams
   * drop what they already sent by sequence number.
   */
  followStore(): Promise<() => Promise<void>> {
    return this.store.subscribeEvents(
      (e) => this.hub.publish([e]),
      () => this.hub.resync(),
    );
  }

  async acquire(p: Principal, input: AcquireInput): Promise<Granted | Queued | Standby> {
    const now = this.clock.now();
    const { product, endpointId } = await this.resolveProduct(p, input);
    const user = await this.resolveUser(p, input);
    if (product.seatModel === 'device' && input.device === undefined && input.join === undefined) {
      throw new ApiError('bad-request', `${product.key} counts activated devices: name the device`, { field: 'device' });
    }
    if (input.standby && (input.join !== undefined || input.wait)) {
      throw new ApiError('bad-request', 'a standby lease reserves a new seat: it cannot join a lease or wait', { field: 'standby' });
    }
    const policy = heartbeatPolicy(product, input.clientType ?? null);
    const newLease = new LazyLease(now);
    const session = new LazySession(now, policy.interval, policy.timeout);
    // Only a request that may wait needs a ticket (and its hashes).
    const ticketToken = input.wait ? newSecret('skq') : '';
    const outcome = await this.store.acquire(
      {
        accountId: p.accountId,
        product,
        user,
        endpointId,
        device: input.device ?? null,
        clientType: input.clientType ?? null,
        channel: input.channel ?? null,
        platform: input.platform ?? null,
        join: input.join ?? null,
        hold: input.hold ?? 'heartbeat',
        meta: (input.meta as Record<string, unknown> | undefined) ?? null,
        standby: input.standby ?? false,
        wait: input.wait ?? false,
        flex: input.flex,
        ppu: input.ppu,
        ticket: input.wait
          ? {
            id: newId('tkt', now),
            tokenHash: hashToken(ticketToken),
            sessionTokenHash: hashToken(queuedSessionToken(ticketToken)),
            ttlMs: product.heartbeat.timeout * 1000,
          }
          : null,
        newLease,
        session,
      },
      now,
    );
    switch (outcome.kind) {
      case 'granted': {
        const expiresAt = now + outcome.session.timeout * 1000;
        this.deadlines.set(outcome.session.id, expiresAt);
        if (!this.store.shared) this.hot.put(outcome.session, outcome.lease);
        this.metrics.grants.inc({ product: product.key, lease: outcome.created ? 'new' : 'shared' });
        this.publish(outcome.events);
        return { kind: 'granted', lease: outcome.lease, session: outcome.session, token: session.token, expiresAt };
      }
      case 'standby':
        this.metrics.grants.inc({ product: product.key, lease: 'standby' });
        this.publish(outcome.events);
        return { kind: 'standby', lease: outcome.lease };
      case 'queued':
        this.metrics.queued.inc({ product: product.key });
        return { kind: 'queued', ticket: outcome.ticket, token: ticketToken };
      case 'unknown-join-code':
        throw new ApiError('not-found', 'no live lease has this join code', { field: 'join' });
      case 'device-limit':
        this.refused(p, product, user, input, 'device-limit', now);
        throw new ApiError('device-limit', `all ${outcome.limit} device activations of ${product.key} (${outcome.capacity} seats and their overage) are taken; activated devices keep working`, {
          product: product.key, inUse: outcome.inUse, capacity: outcome.capacity, limit: outcome.limit,
        });
      case 'license-suspended':
        this.refused(p, product, user, input, 'license-suspended', now);
        throw new ApiError('license-suspended', `the license of ${product.key} you may use reached its exception quota; an administrator can raise the quota or reset the exceptions`, { product: product.key });
      case 'quota-exhausted':
        this.refused(p, product, user, input, 'quota-exhausted', now);
        throw new ApiError('quota-exhausted', `${product.key} has used ${outcome.used} of its ${outcome.quota} units (limit ${outcome.limit})`, {
          product: product.key, used: outcome.used, quota: outcome.quota, limit: outcome.limit,
        });
      case 'no-seat':
      case 'user-limit': {
        this.refused(p, product, user, input, outcome.kind, now);
        throw outcome.kind === 'no-seat' && outcome.ownLeases.length === 0 ? this.sameNoSeat(product, outcome) : this.seatRefusal(product, outcome);
      }
    }
  }

  /** The answer to a request refused for want of a seat (`no-seat`) or by its caller's cap (`user-limit`). */
  private seatRefusal(product: Product, outcome: Extract<AcquireOutcome, { kind: 'no-seat' | 'user-limit' }>): ApiError {
    const detail =
      outcome.kind === 'no-seat'
        ? `all ${outcome.capacity} seats of ${product.key} are in use`
        : `you already hold ${outcome.ownLeases.length} of your ${outcome.maxLeases} allowed seats; end one to start another`;
    return new ApiError(outcome.kind, detail, {
      product: product.key,
      inUse: outcome.inUse,
      capacity: outcome.capacity,
      // A seat abandoned by a crashed client is freed within one heartbeat timeout.
      retryAfter: product.heartbeat.timeout,
      ownLeases: outcome.ownLeases.map(leaseJson),
      manageUrl: this.opts.manageUrl,
      ...(outcome.kind === 'user-limit' ? { maxLeases: outcome.maxLeases } : {}),
    });
  }

  /**
   * `seatRefusal` for a no-seat refusal of a caller who holds no lease of their own. Under
   * contention most requests get it, with the same load: while the product (the same cached
   * object) and its load are the same, it is the same error, built and serialized once.
   */
  private sameNoSeat(product: Product, outcome: Extract<AcquireOutcome, { kind: 'no-seat' }>): ApiError {
    const last = this.lastNoSeat.get(product);
    if (last && last.inUse === outcome.inUse && last.capacity === outcome.capacity) return last.error;
    const error = this.seatRefusal(product, outcome);
    this.lastNoSeat.set(product, { inUse: outcome.inUse, capacity: outcome.capacity, error });
    return error;
  }

  /** Checks the session token and moves the deadline; the store is only read, if at all. */
  async heartbeat(sessionId: string, token: string): Promise<{ expiresAt: number; lease: Lease; leaseText?: string }> {
    // Empty but for the moments an expiry batch is in flight.
    for (const batch of this.expiring) if (batch.ids.includes(sessionId)) await batch.settled;
    const hit = this.store.shared ? undefined : this.hot.get(sessionId);
    if (hit) {
      // Hashes compare with ===: a timing difference would reveal bits of a SHA-256 output,
      // which says nothing about a token that hashes to it (the operator key, a secret
      // compared as it is, uses safeEqual).
      if (hashToken(token) !== hit.session.tokenHash) throw new ApiError('unauthorized', 'this token does not belong to the session');
      const expiresAt = this.clock.now() + hit.session.timeout * 1000;
      this.deadlines.set(sessionId, expiresAt);
      this.metrics.heartbeats.inc();
      return { expiresAt, lease: hit.lease, leaseText: hit.text };
    }
    const hb = await this.store.heartbeat(sessionId);
    const session = this.checkToken(hb.session, sessionId, token);
    if (hb.kind === 'ended') {
      this.deadlines.delete(sessionId);
      throw new ApiError('session-ended', `the session has ended (${hb.reason}); start a new one`, { reason: hb.reason });
    }
    const expiresAt = this.clock.now() + session.timeout * 1000;
    this.deadlines.set(sessionId, expiresAt);
    if (this.store.shared) this.pendingTouches.set(sessionId, expiresAt);
    else this.hot.put(session, hb.lease);
    this.metrics.heartbeats.inc();
    return { expiresAt, lease: hb.lease };
  }

  /** The client closed its session (DELETE /v1/sessions/{id}). */
  async closeSession(sessionId: string, token: string): Promise<void> {
    const r = await this.store.closeSession(sessionId, hashToken(token), this.clock.now());
    if (r.kind === 'not-found') throw new ApiError('not-found', `no session ${sessionId}`);
    if (r.kind === 'unauthorized') throw new ApiError('unauthorized', 'this token does not belong to the session');
    this.deadlines.delete(sessionId);
    this.pendingTouches.delete(sessionId);
    this.hot.dropSession(sessionId, r.leaseId);
    this.publish(r.events);
  }

  /** Authenticates a session token for the event stream; returns the session. */
  async sessionFor(sessionId: string, token: string): Promise<Session> {
    const hb = await this.store.heartbeat(sessionId);
    return this.checkToken(hb.session, sessionId, token);
  }

  async release(accountId: string, leaseId: string): Promise<Lease | undefined> {
    const r = await this.store.releaseLease(accountId, leaseId, this.clock.now());
    this.hot.dropLease(leaseId);
    if (!r) return undefined;
    this.publish(r.events);
    return r.lease;
  }

  /** Forget cached lease views (a change the store made without an event, e.g. a top-up). */
  invalidateLeases(): void {
    this.hot.clearLeases();
  }

  publish(events: readonly LeaseEvent[]): void {
    // Ends counted per reason, then added once each: a storm's batch is 50 of one reason.
    let reason: string | null = null;
    let ended = 0;
    for (const e of events) {
      if (e.type === 'lease.ended') {
        this.hot.endLease(e.leaseId);
        const r = String(e.data.reason);
        if (r !== reason) {
          if (reason !== null) this.metrics.leasesEnded.inc({ reason }, ended);
          reason = r;
          ended = 0;
        }
        ended++;
      } else this.hot.dropLease(e.leaseId);
      // A seat served from the queue started a session inside the store: time it here.
      if (e.type === 'lease.granted' && typeof e.data.session === 'string' && !this.store.shared) {
        this.deadlines.set(e.data.session, e.at + Number(e.data.timeout) * 1000);
      }
    }
    if (reason !== null) this.metrics.leasesEnded.inc({ reason }, ended);
    this.hub.publish(events);
  }

  /**
   * Ends leases with a notice (ISL's "End selected sessions"): all or nothing — if any id is
   * unknown, invisible or not the caller's to control, nothing changes and the refused ids
   * are named.
   */
  async terminate(p: Principal, perms: Permissions, ids: readonly string[], message: string, graceSec: number): Promise<{ id: string; at: number }[]> {
    const refused: string[] = [];
    for (const id of new Set(ids)) {
      const lease = await this.store.getLease(p.accountId, id);
      const visible = lease && (lease.status !== 'paused' || lease.user === selfId(p));
      if (!lease || !visible || !canControl(p, perms, lease)) refused.push(id);
    }
    if (refused.length > 0) throw new ApiError('forbidden', `you may not end ${refused.length === 1 ? 'this lease' : 'these leases'}: ${refused.join(', ')}; nothing was ended`, { refused });
    const now = this.clock.now();
    const r = await this.store.terminateLeases(p.accountId, [...new Set(ids)], now + graceSec * 1000, message, now);
    this.publish(r.events);
    return r.terminating;
  }

  /** Only the lease's own user may pause it (SPEC §3); its seat is freed. */
  async pause(p: Principal, leaseId: string): Promise<Lease> {
    const lease = await this.ownLease(p, leaseId);
    if (lease.status !== 'active' || (lease.kind !== 'regular' && lease.kind !== 'overage')) {
      throw new ApiError('conflict', `only an active lease holding a seat can be paused (this one is ${lease.status}, ${lease.kind})`);
    }
    if ((await this.store.getProduct(p.accountId, lease.productId))?.seatModel === 'device') {
      throw new ApiError('conflict', 'a device’s activation holds its seat for the activation window; pausing the lease would free nothing');
    }
    this.hot.dropLease(leaseId);
    const r = await this.store.pauseLease(p.accountId, leaseId, this.clock.now());
    if (!r) throw new ApiError('not-found', `lease ${leaseId} not found`);
    this.publish(r.events);
    return r.lease;
  }

  /** Resuming needs a free seat, like any acquisition. */
  async resume(p: Principal, leaseId: string): Promise<Lease> {
    const lease = await this.ownLease(p, leaseId);
    if (lease.status !== 'paused') throw new ApiError('conflict', `the lease is ${lease.status}, not paused`);
    if (p.kind !== 'user') throw new ApiError('forbidden', 'only the lease\'s own user may resume it');
    this.hot.dropLease(leaseId);
    const r = await this.store.resumeLease(p.accountId, leaseId, requester(p.user), this.clock.now());
    if (!r) throw new ApiError('not-found', `lease ${leaseId} not found`);
    if ('noSeat' in r) {
      const product = await this.store.getProduct(p.accountId, lease.productId);
      throw new ApiError('no-seat', `all ${r.capacity} seats of ${lease.product} are in use; try again later`, {
        product: lease.product, inUse: r.inUse, capacity: r.capacity, retryAfter: product?.heartbeat.timeout ?? 30,
        ownLeases: [leaseJson(lease)], manageUrl: this.opts.manageUrl,
      });
    }
    this.publish(r.events);
    return r.lease;
  }

  private async ownLease(p: Principal, leaseId: string): Promise<Lease> {
    const lease = await this.store.getLease(p.accountId, leaseId);
    if (!lease || (lease.status === 'paused' && lease.user !== selfId(p))) throw new ApiError('not-found', `lease ${leaseId} not found`);
    if (p.kind !== 'user' || lease.user !== p.user.id) throw new ApiError('forbidden', 'only the lease\'s own user may pause or resume it');
    return lease;
  }

  /** A disabled endpoint's running sessions end with a notice (a display operator expects it). */
  async endEndpointLeases(p: Principal, endpointId: string, graceSec = 30): Promise<void> {
    const ids = await this.store.liveLeasesOfEndpoint(p.accountId, endpointId);
    if (ids.length === 0) return;
    const now = this.clock.now();
    const r = await this.store.terminateLeases(p.accountId, ids, now + graceSec * 1000, 'This display was disabled by an administrator.', now);
    this.publish(r.events);
  }

  /** A queue ticket, checked against its token; polling it keeps it alive. */
  async ticket(id: string, token: string, keepAlive: boolean): Promise<{ ticket: Ticket; lease?: Lease; session?: { id: string; token: string; interval: number; timeout: number } }> {
    const ticket = await this.store.getTicket(id);
    if (!ticket) throw new ApiError('not-found', `no ticket ${id}`);
    if (hashToken(token) !== ticket.tokenHash) throw new ApiError('unauthorized', 'this token does not belong to the ticket');
    if (ticket.status === 'waiting' && keepAlive) {
      const expiresAt = this.clock.now() + ticket.timeout * 1000;
      await this.store.touchTicket(id, expiresAt);
      ticket.expiresAt = Math.max(ticket.expiresAt, expiresAt);
    }
    if (ticket.status !== 'granted') return { ticket };
    const lease = await this.store.getLease(ticket.accountId, ticket.leaseId);
    return {
      ticket,
      ...(lease && { lease }),
      session: { id: ticket.sessionId, token: queuedSessionToken(token), interval: ticket.interval, timeout: ticket.timeout },
    };
  }

  async cancelTicket(id: string, token: string): Promise<void> {
    await this.ticket(id, token, false);
    await this.store.cancelTicket(id, this.clock.now());
  }

  private refused(p: Principal, product: Product, user: Requester | null, input: AcquireInput, code: string, now: number): void {
    this.metrics.refusals.inc({ product: product.key, code });
    this.denials.push({ accountId: p.accountId, productId: product.id, userId: user?.id ?? null, device: input.device ?? null, code, at: now });
  }

  /** An administrator's "check now" (POST /v1/alerts/check). */
  async checkAlertsNow(accountId: string): Promise<AlertCheck> {
    const c = await this.store.checkAlertsNow(accountId, this.clock.now(), (prefix) => newId(prefix, this.clock.now()));
    for (const a of c.fired) this.metrics.alerts.inc({ kind: a.kind });
    this.publish(c.events);
    return c;
  }

  /** Records a refusal that happened before the store was asked (a disabled endpoint). */
  recordRefusal(p: Principal, productId: string, code: string, device: string | null): void {
    this.denials.push({ accountId: p.accountId, productId, userId: p.kind === 'user' ? p.user.id : null, device, code, at: this.clock.now() });
  }

  /** Writes the refusals collected since the last call. */
  async flushDenials(): Promise<void> {
    if (this.denials.length === 0) return;
    const batch = this.denials.splice(0);
    try {
      await this.store.recordDenials(batch);
    } catch (e) {
      this.denials.unshift(...batch);
      throw e;
    }
    for (const d of batch) {
      // Under contention most refusals have no console watching: none is built for nobody.
      if (!this.hub.hasSignals(d.accountId)) continue;
      this.hub.signal(d.accountId, 'denial', { at: new Date(d.at).toISOString(), user: d.userId, device: d.device, productId: d.productId, code: d.code });
    }
  }

  /**
   * One pass of the timed work: expire sessions whose deadline passed (bounded batches,
   * yielding between them so that a mass expiry cannot starve heartbeats), then fire lease
   * timers (linger, daily reset). Overlapping calls share one pass.
   */
  readonly tick: () => Promise<void> = singleFlight(() => this.runTick());

  private async runTick(): Promise<void> {
    try {
      if (this.storeWasDown) {
        // Clients could not heartbeat while the store was away; expiring them now would
        // punish them for our outage. Like a restart: a fresh window for every live session.
        await this.recover();
        this.storeWasDown = false;
      }
      await this.timedWork();
    } catch (err) {
      if (isStoreUnavailable(err)) this.storeWasDown = true;
      throw err;
    }
  }

  private async timedWork(): Promise<void> {
    const started = this.clock.now();
    await this.flushTouches();
    await this.flushDenials();
    for (;;) {
      const now = this.clock.now();
      const due = this.deadlines.popDue(now, this.opts.expiryBatch);
      if (due.length === 0) {
        // Nothing due, unless settling extended deadlines took the call's whole budget.
        if (!this.deadlines.more(now) || this.clock.now() - started > this.opts.tickBudgetMs) break;
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      const { expired, events } = await this.expire(due, now);
      this.metrics.expired.inc(expired.length);
      this.publish(events);
      if ((due.length < this.opts.expiryBatch && !this.deadlines.more(now)) || this.clock.now() - started > this.opts.tickBudgetMs) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Shared stores: sessions left by servers that died, or heartbeated only elsewhere.
    // (A due session another server still sees heartbeats for was left alone above and
    // dropped from this heap; if its heartbeats stop, this sweep ends it.)
    if (this.store.shared) {
      for (;;) {
        const { expired, events } = await this.store.sweepExpiredSessions(this.clock.now(), this.opts.expiryBatch);
        this.metrics.expired.inc(expired.length);
        this.publish(events);
        if (expired.length < this.opts.expiryBatch || this.clock.now() - started > this.opts.tickBudgetMs) break;
      }
    }
    for (;;) {
      const events = await this.store.fireLeaseTimers(this.clock.now(), 200);
      this.publish(events);
      if (events.length < 200) break;
    }
    if (this.clock.now() - this.lastPeaks >= 1000) {
      this.lastPeaks = this.clock.now();
      await this.store.sample(this.lastPeaks);
      // Device windows, soft-license windows, alert checks, webhook fan-out (docs/metering.md).
      const { events, checks } = await this.store.runMeteringWork(this.lastPeaks, (prefix) => newId(prefix, this.clock.now()));
      this.publish(events);
      for (const c of checks) for (const a of c.fired) this.metrics.alerts.inc({ kind: a.kind });
    }
  }

  /**
   * One batch of due sessions, `expiring` until the store has ended them and `hot` has
   * forgotten them: only then may a heartbeat waiting for one go on.
   */
  private async expire(due: string[], now: number): Promise<{ expired: string[]; events: LeaseEvent[] }> {
    let settle!: () => void;
    const batch = { ids: due, settled: new Promise<void>((resolve) => (settle = resolve)) };
    this.expiring.push(batch);
    try {
      const r = await this.store.expireSessions(due, now);
      for (const id of r.expired) this.hot.dropSession(id, null);
      return r;
    } catch (err) {
      // Nothing of the batch is known to be stored: its sessions are due again at once (the
      // store's expiry claims only sessions still live, so running it again is safe).
      for (const id of due) if (!this.deadlines.has(id)) this.deadlines.set(id, now);
      throw err;
    } finally {
      this.expiring.splice(this.expiring.indexOf(batch), 1);
      settle();
    }
  }

  private async flushTouches(): Promise<void> {
    if (this.pendingTouches.size === 0) return;
    const batch = new Map(this.pendingTouches);
    this.pendingTouches.clear();
    await this.store.touchSessions(batch);
  }

  private checkToken(session: Session | null, sessionId: string, token: string): Session {
    if (!session) throw new ApiError('not-found', `no session ${sessionId}`);
    if (hashToken(token) !== session.tokenHash) throw new ApiError('unauthorized', 'this token does not belong to the session');
    return session;
  }

  private async resolveProduct(p: Principal, input: AcquireInput): Promise<{ product: Product; endpointId: string | null }> {
    if (p.kind === 'endpoint') {
      if (!p.endpoint.enabled) {
        this.recordRefusal(p, p.endpoint.productId, 'endpoint-disabled', input.device ?? null);
        throw new ApiError('endpoint-disabled', `endpoint ${p.endpoint.name} is disabled; an administrator can enable it`);
      }
      if (input.product !== undefined && input.product !== p.endpoint.product) {
        throw new ApiError('bad-request', `this endpoint is for product ${p.endpoint.product}`, { field: 'product' });
      }
      const product = await this.store.getProduct(p.accountId, p.endpoint.productId);
      if (!product) throw new ApiError('not-found', 'the endpoint product no longer exists');
      return { product, endpointId: p.endpoint.id };
    }
    if (input.product === undefined && input.join !== undefined) {
      // Joining names the lease, and so its product.
      const lease = await this.store.findLiveLeaseByJoinCode(p.accountId, input.join);
      if (!lease) throw new ApiError('not-found', 'no live lease has this join code', { field: 'join' });
      const product = await this.store.getProduct(p.accountId, lease.productId);
      if (!product) throw new ApiError('not-found', 'the lease product no longer exists');
      return { product, endpointId: null };
    }
    if (input.product === undefined) throw new ApiError('bad-request', 'body.product is required', { field: 'product' });
    const product = await this.store.getProductByKey(p.accountId, input.product);
    if (!product) throw new ApiError('bad-request', `unknown product ${input.product}`, { field: 'product' });
    return { product, endpointId: null };
  }

  private async resolveUser(p: Principal, input: AcquireInput): Promise<Requester | null> {
    if (p.kind === 'user') {
      if (input.user !== undefined && input.user !== p.user.id && input.user !== p.user.username) {
        throw new ApiError('forbidden', 'only service keys may start sessions for another user', { field: 'user' });
      }
      return requester(p.user);
    }
    if (input.user === undefined) return null;
    if (p.kind === 'endpoint') throw new ApiError('forbidden', 'endpoint keys cannot act for a user', { field: 'user' });
    const user =
      (await this.store.getUser(p.accountId, input.user)) ??
      (await this.store.findUserByUsername(p.accountId, input.user));
    if (!user) throw new ApiError('bad-request', `unknown user ${input.user}`, { field: 'user' });
    return requester(user);
  }
}

export type Granted = { kind: 'granted'; lease: Lease; session: Session; token: string; expiresAt: number };
export type Queued = { kind: 'queued'; ticket: Ticket; token: string };
export type Standby = { kind: 'standby'; lease: Lease };

/**
 * The session token of a request served from the queue, derived from its ticket token: the
 * store keeps only its hash, and only the ticket's holder can compute it.
 */
export function queuedSessionToken(ticketToken: string): string {
  return `sss_${createHmac('sha256', ticketToken).update('seatkeeper queued session').digest('base64url')}`;
}

function requester(u: User): Requester {
  return { id: u.id, teams: u.teams, role: u.role, maxLeases: u.maxLeases };
}
