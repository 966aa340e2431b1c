/** Messages between the orchestrator (run.ts) and the load-generator child (load.ts). */
import type { LatencySummary, StatusCounts, Target } from './http.js';

interface Base {
  target: Target;
  /** The server's pid, to sample its CPU over exactly the measured window. */
  serverPid: number;
}

export type Command =
  | (Base & { cmd: 'closed-get'; path: string; connections: number; warmupMs: number; durationMs: number })
  | (Base & { cmd: 'closed-heartbeat'; pool: string; connections: number; warmupMs: number; durationMs: number })
  | (Base & { cmd: 'create'; pool: string | null; product: string; apiKey: string; count: number; connections: number; timeLimitMs: number })
  | (Base & { cmd: 'close'; pool: string; connections: number; timeLimitMs: number })
  | (Base & { cmd: 'open-heartbeat'; pool: string; rate: number; warmupMs: number; durationMs: number; connections: number })
  | (Base & {
      cmd: 'contend';
      product: string;
      apiKey: string;
      adminToken: string;
      clients: number;
      seats: number;
      connections: number;
      warmupMs: number;
      durationMs: number;
    })
  | (Base & {
      cmd: 'storm';
      stormProduct: string;
      steadyPool: string;
      apiKey: string;
      adminToken: string;
      stormCount: number;
      timeoutS: number;
      steadyRate: number;
      beforeMs: number;
      connections: number;
      /** Storms one after another, each with its quiet window before it. */
      rounds: number;
    })
  | { cmd: 'exit' };

export type Request = Command & { id: number };

export interface Throughput {
  requests: number;
  seconds: number;
  rps: number;
  statuses: StatusCounts;
  latency: LatencySummary;
  /** Percent of one core, over the measured window. */
  serverCpu: number | null;
  genCpu: number | null;
  /** Busy CPU of all other processes on the machine (noise), % of one core. */
  otherCpu: number | null;
}

export interface CreateResult {
  created: number;
  refused: number;
  statuses: StatusCounts;
  seconds: number;
  rps: number;
  serverCpu: number | null;
  genCpu: number | null;
  /** Busy CPU of all other processes on the machine (noise), % of one core. */
  otherCpu: number | null;
  timedOut: boolean;
}

export interface OpenResult {
  rate: number;
  sent: number;
  statuses: StatusCounts;
  latency: LatencySummary;
  /** actual send time − intended send time, ms. */
  lag: LatencySummary;
  serverCpu: number | null;
  genCpu: number | null;
  /** Busy CPU of all other processes on the machine (noise), % of one core. */
  otherCpu: number | null;
  unfinished: number;
}

export interface ContendResult extends Throughput {
  grants: number;
  refusals: number;
  releases: number;
  /** Seats held as the generator sees them, counted only inside the server's hold interval. */
  maxHeldStrict: number;
  /** Counted from the 201 until the DELETE's 204 (may exceed the true count by races). */
  maxHeldLoose: number;
  /** Seats held above `seats` as the generator sees them (strict count). */
  overGrantsSeen: number;
  /** Highest inUse the server reported on GET /v1/usage while the phase ran. */
  maxUsageInUse: number | null;
  usagePolls: number;
  leaked: number;
}

/** One storm's figures (`StormResult` has the same over all storms of the phase). */
export type StormRound = Omit<StormResult, 'stormCount' | 'timeoutS' | 'rounds' | 'steadyStatuses' | 'steadyLagP99' | 'usagePolls' | 'usagePollLatency'>;

/**
 * The expiry storms of a phase: each storm's own figures (`rounds`), and over all of them the
 * fewest sessions created, the latest freed, and the steady heartbeats of every quiet window
 * as one population and of every expiry as another.
 */
export interface StormResult {
  stormCount: number;
  timeoutS: number;
  rounds: StormRound[];
  created: number;
  createSeconds: number;
  /** Storm sessions that expired before the stop because their keep-alive heartbeat was late. */
  expiredEarly: number;
  waveSeconds: number;
  /** inUse of the storm product at the first poll after the stop. */
  inUseAtStop: number | null;
  /** ms from the stop (end of the last heartbeat wave) to the first poll showing a drop. */
  firstDropMs: number | null;
  /** ms from the stop to the first poll showing inUse 0; null if never within the limit. */
  freedMs: number | null;
  /** ms from the start of the last heartbeat wave to freed (the earliest possible stop). */
  freedFromWaveStartMs: number | null;
  steadyBefore: LatencySummary;
  steadyDuring: LatencySummary;
  steadyStatuses: StatusCounts;
  steadyLagP99: number;
  /** The generator's send lag p99 inside each window (> 2 ms: the window's latencies are not valid). */
  steadyLagP99Before: number;
  steadyLagP99During: number;
  serverCpuBefore: number | null;
  serverCpuDuring: number | null;
  otherCpuBefore: number | null;
  otherCpuDuring: number | null;
  usagePolls: number;
  /** GET /v1/usage round trip while polling. */
  usagePollLatency: LatencySummary;
}

export type Result = Throughput | CreateResult | OpenResult | ContendResult | StormResult | { closed: number; statuses: StatusCounts } | null;

export type Reply = { id: number; ok: true; result: Result } | { id: number; ok: false; error: string };
