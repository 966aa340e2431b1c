import type { SeatkeeperError } from './errors.js';
import type { FetchLike } from './http.js';
import type { BackoffOptions, Timers } from './timers.js';

/** A lease (one held seat) as the API describes it. */
export interface Lease {
  id: string;
  product: string;
  license: string | null;
  kind: 'regular' | 'overage' | 'flex' | 'ppu' | (string & {});
  status: 'active' | 'standby' | 'paused' | 'terminating' | 'ended' | (string & {});
  user: string | null;
  device: string | null;
  endpoint: string | null;
  joinCode: string;
  hold: string;
  sessions: number;
  startedAt: string;
  endsAt: string | null;
  endedAt: string | null;
  endReason: string | null;
  [more: string]: unknown;
}

/** This client's session, as `POST /v1/leases` answers it. */
export interface SessionInfo {
  id: string;
  token: string;
  /** Seconds between heartbeats. */
  heartbeatInterval: number;
  /** Seconds without a heartbeat after which the server removes the session. */
  heartbeatTimeout: number;
  expiresAt: string;
}

/** A queue ticket (`wait: true` and nothing free). */
export interface Ticket {
  id: string;
  token: string;
  position: number;
  expiresAt: string;
}

/** What `POST /v1/leases` takes (API.md "Client life cycle"). */
export interface AcquireRequest {
  /** Product key; omit with an endpoint key (the endpoint names it) or when joining. */
  product?: string;
  device?: string;
  /** Service keys only: the user to act for. */
  user?: string;
  clientType?: string;
  channel?: string;
  platform?: string;
  /** Join an existing lease by its join code. */
  join?: string;
  hold?: 'heartbeat' | 'until-reset';
  /** Wait in the queue (202 + ticket) instead of being refused. */
  wait?: boolean;
  flex?: boolean;
  ppu?: boolean;
  meta?: Record<string, unknown>;
}

export interface AcquireOptions extends AcquireRequest {
  /** Base URL of the server. */
  url: string;
  /** Bearer token: a user token, a service key or an endpoint key. */
  token: string;
  /** Retry delays (exponential backoff with full jitter). */
  backoff?: BackoffOptions;
  /** After this many consecutive failed attempts, each further failure emits `error`. Default 3. */
  errorAfter?: number;
  /**
   * Start again after the server ended the lease (expired, terminated, license ended, …).
   * Default true (a display keeps trying to show); a function decides per reason.
   */
  reacquire?: boolean | ((reason: string) => boolean);
  /** Follow the session's event stream (notices arrive at once). Default true. */
  stream?: boolean;
  /** Poll interval for a queue ticket (ms). Default 5000. */
  ticketPollInterval?: number;
  /** Request timeout (ms). Default 15000. */
  requestTimeout?: number;
  /** Browsers: release with a keepalive request on `pagehide`. Default true. */
  releaseOnPageHide?: boolean;
  /** Node: release on SIGINT, SIGTERM and beforeExit, then let the process go. Default false. */
  releaseOnExit?: boolean;
  /** Injected for tests: timers and clock. */
  timers?: Timers;
  /** Injected for tests: jitter source in [0, 1). */
  random?: () => number;
  fetch?: FetchLike;
}

export type HandleState =
  /** registering (first time or after an end) */
  | 'connecting'
  /** holding a seat: heartbeating */
  | 'held'
  /** waiting in the queue with a ticket */
  | 'queued'
  /** refused or unreachable; a retry is scheduled */
  | 'retrying'
  /** `release()` was called (or the page went away) */
  | 'released'
  /** the server ended the lease and `reacquire` said not to start again */
  | 'ended'
  /** a fatal answer (bad token, bad request): the handle stopped */
  | 'failed';

export interface SeatEvents {
  /** A seat is held (first time, or again after re-registration: `reacquired`). */
  granted: { lease: Lease; session: SessionInfo; reacquired: boolean };
  /** Waiting in the queue (emitted again when the position changes). */
  queued: { ticket: Ticket };
  /** A flex lease became a regular one. */
  upgraded: { lease: Lease | null; data: Record<string, unknown> };
  /** An administrator ends the lease at `at`; `secondsLeft` counts down to it. */
  terminating: { at: Date; message: string | null; secondsLeft: number };
  paused: { data: Record<string, unknown> };
  resumed: { data: Record<string, unknown> };
  /** The server ended the lease or removed the session. The handle re-registers unless told not to. */
  ended: { reason: string; lease: Lease | null; reacquiring: boolean };
  /** A heartbeat was answered. */
  heartbeat: { expiresAt: Date; lease: Lease };
  /** An attempt failed and another is scheduled after `delay` ms. */
  retrying: { attempt: number; delay: number; error: SeatkeeperError; during: 'register' | 'heartbeat' | 'ticket' };
  /**
   * Visible failure: emitted for every failed attempt from the `errorAfter`-th on while the
   * handle keeps trying, and once for a fatal answer (`fatal: true`, the handle stops).
   */
  error: { error: SeatkeeperError; attempts: number; fatal: boolean };
  /** The event stream (re)connected. */
  connected: { lastEventId: string | null };
  /** `release()` finished (or the page went away). */
  released: { lease: Lease | null };
  /** The state changed. */
  state: { state: HandleState; previous: HandleState };
  /** Every event of the session's stream, as sent (including ones without their own event). */
  message: { type: string; data: Record<string, unknown>; id: string | null };
}
