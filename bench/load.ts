/**
 * The load generator. It runs as a child process (pinned to its own core by run.ts) and
 * takes commands over IPC; every loop here is bounded by a deadline and by a count.
 * Session tokens it creates stay in this process, in named pools.
 */
import { Samples, bump, makeClient, sleep, summarize, type Client, type Resp, type StatusCounts, type Target } from './http.js';
import { cpuSeconds, cpuWindow, systemBusySeconds, wallMs, type CpuWindow } from './proc.js';
import type {
  Command, ContendResult, CreateResult, OpenResult, Reply, Request, Result, StormResult, Throughput,
} from './protocol.js';

interface Session {
  id: string;
  token: string;
}

const pools = new Map<string, Session[]>();
/** Hard cap on any phase, whatever it was asked. */
const PHASE_LIMIT_MS = 180_000;
/** Transport errors tolerated per phase before it is abandoned. */
const MAX_TRANSPORT_ERRORS = 1000;

function poolOf(name: string): Session[] {
  const p = pools.get(name);
  if (!p || p.length === 0) throw new Error(`session pool ${name} is empty`);
  return p;
}

const heartbeat = (c: Client, s: Session): Promise<Resp> =>
  c.request({ method: 'POST', path: `/v1/sessions/${s.id}/heartbeat`, token: s.token });

function parseSession(body: string): Session {
  const j = JSON.parse(body) as { session?: { id?: unknown; token?: unknown } };
  const id = j.session?.id;
  const token = j.session?.token;
  if (typeof id !== 'string' || typeof token !== 'string') throw new Error(`201 without a session: ${body.slice(0, 200)}`);
  return { id, token };
}

async function usageInUse(c: Client, adminToken: string, product: string): Promise<number | null> {
  const r = await c.request({ method: 'GET', path: '/v1/usage', token: adminToken, wantBody: true });
  if (r.status !== 200) return null;
  const j = JSON.parse(r.body) as { products?: { product: string; inUse: number }[] };
  return j.products?.find((p) => p.product === product)?.inUse ?? 0;
}

/** Busy CPU of everything but the server and the generator (other load on the machine), % of one core. */
function otherCpu(system: number | null, server: number | null, gen: number | null): number | null {
  if (system === null || server === null || gen === null) return null;
  return Math.max(0, system - server - gen);
}

/** The measured part of a closed-loop phase: warm-up first, then a timed window. */
class Window {
  measuring = false;
  done = false;
  t0 = 0;
  t1 = 0;
  serverCpu: number | null = null;
  genCpu: number | null = null;
  otherCpu: number | null = null;
  transportErrors = 0;
  private server: CpuWindow | null = null;
  private gen: CpuWindow | null = null;
  private system: CpuWindow | null = null;

  constructor(private readonly serverPid: number) {}

  run(warmupMs: number, durationMs: number): Promise<void> {
    return new Promise((resolve) => {
      setTimeout(() => {
        this.begin();
        setTimeout(() => {
          this.end();
          resolve();
        }, durationMs);
      }, warmupMs);
    });
  }

  begin(): void {
    this.t0 = wallMs();
    this.server = cpuWindow(this.serverPid);
    this.gen = cpuWindow(process.pid);
    this.system = cpuWindow(null);
    this.measuring = true;
  }

  end(): void {
    if (this.done) return;
    this.t1 = wallMs();
    this.serverCpu = this.server?.stop() ?? null;
    this.genCpu = this.gen?.stop() ?? null;
    this.otherCpu = otherCpu(this.system?.stop() ?? null, this.serverCpu, this.genCpu);
    this.measuring = false;
    this.done = true;
  }

  get seconds(): number {
    return (this.t1 - this.t0) / 1000;
  }
}

/** Runs `workers` loops of `step` until the window closes; a transport error is counted, not fatal. */
async function closedLoop(win: Window, workers: number, statuses: StatusCounts, step: () => Promise<void>): Promise<void> {
  const hardStop = wallMs() + PHASE_LIMIT_MS;
  const worker = async () => {
    while (!win.done && wallMs() < hardStop) {
      try {
        await step();
      } catch (e) {
        bump(statuses, 'error');
        if (++win.transportErrors > MAX_TRANSPORT_ERRORS) {
          win.end();
          throw new Error(`too many transport errors; last: ${e instanceof Error ? e.message : String(e)}`);
        }
        await sleep(5);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
}

async function closedPhase(
  c: Extract<Command, { cmd: 'closed-get' | 'closed-heartbeat' }>,
  send: (client: Client) => Promise<Resp>,
): Promise<Throughput> {
  const client = makeClient(c.target, c.connections);
  const statuses: StatusCounts = {};
  const latency = new Samples();
  const win = new Window(c.serverPid);
  let requests = 0;
  const timer = win.run(c.warmupMs, c.durationMs);
  try {
    await closedLoop(win, c.connections, statuses, async () => {
      const t = wallMs();
      const r = await send(client);
      if (win.measuring) {
        requests++;
        latency.add(wallMs() - t);
        bump(statuses, r.status);
      }
    });
    await timer;
  } finally {
    client.close();
  }
  return { requests, seconds: win.seconds, rps: requests / win.seconds, statuses, latency: summarize(latency), serverCpu: win.serverCpu, genCpu: win.genCpu, otherCpu: win.otherCpu };
}

/** Starts `count` sessions of `product` as fast as `connections` loops allow. */
async function createSessions(
  c: { target: Target; serverPid: number; product: string; apiKey: string; count: number; connections: number; timeLimitMs: number },
  onCreated: (s: Session) => void,
): Promise<CreateResult> {
  const client = makeClient(c.target, c.connections);
  const statuses: StatusCounts = {};
  const server = cpuWindow(c.serverPid);
  const gen = cpuWindow(process.pid);
  const system = cpuWindow(null);
  const t0 = wallMs();
  const deadline = t0 + Math.min(c.timeLimitMs, PHASE_LIMIT_MS);
  let issued = 0;
  let created = 0;
  let refused = 0;
  let errors = 0;
  const worker = async () => {
    while (issued < c.count && wallMs() < deadline && refused < 100) {
      issued++;
      try {
        const r = await client.request({ method: 'POST', path: '/v1/leases', token: c.apiKey, json: { product: c.product }, wantBody: true });
        bump(statuses, r.status);
        if (r.status === 201) {
          created++;
          onCreated(parseSession(r.body));
        } else if (r.status === 409) {
          refused++;
        } else {
          await sleep(5);
        }
      } catch (e) {
        bump(statuses, 'error');
        if (++errors > MAX_TRANSPORT_ERRORS) throw e;
        await sleep(5);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: c.connections }, worker));
  } finally {
    client.close();
  }
  const seconds = (wallMs() - t0) / 1000;
  const [serverCpu, genCpu] = [server.stop(), gen.stop()];
  return { created, refused, statuses, seconds, rps: created / seconds, serverCpu, genCpu, otherCpu: otherCpu(system.stop(), serverCpu, genCpu), timedOut: created < c.count && wallMs() >= deadline };
}

async function closeSessions(c: Extract<Command, { cmd: 'close' }>): Promise<{ closed: number; statuses: StatusCounts }> {
  const sessions = pools.get(c.pool) ?? [];
  const client = makeClient(c.target, c.connections);
  const statuses: StatusCounts = {};
  const deadline = wallMs() + Math.min(c.timeLimitMs, PHASE_LIMIT_MS);
  let next = 0;
  let closed = 0;
  const worker = async () => {
    while (next < sessions.length && wallMs() < deadline) {
      const s = sessions[next++]!;
      try {
        const r = await client.request({ method: 'DELETE', path: `/v1/sessions/${s.id}`, token: s.token });
        bump(statuses, r.status);
        if (r.status === 204) closed++;
      } catch {
        bump(statuses, 'error');
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: c.connections }, worker));
  } finally {
    client.close();
  }
  pools.delete(c.pool);
  return { closed, statuses };
}

interface OpenLoopOptions {
  rate: number;
  /** Sent but not recorded (JIT warm-up of this loop and of the server's path). */
  warmupMs?: number;
  durationMs: number;
  stop?: () => boolean;
  onSample?: (intended: number, latency: number, status: number, lag: number) => void;
}

interface OpenLoopOutcome {
  latency: Samples;
  lag: Samples;
  statuses: StatusCounts;
  sent: number;
  unfinished: number;
}

/**
 * Open loop: request i is due at start + i/rate whatever happened to the others; latency is
 * measured from that intended time, so a stalled server is charged for the queue it causes.
 */
function openLoop(o: OpenLoopOptions, send: (i: number) => Promise<Resp>): Promise<OpenLoopOutcome> {
  const latency = new Samples();
  const lag = new Samples();
  const statuses: StatusCounts = {};
  const warmupMs = o.warmupMs ?? 0;
  const total = Math.floor((o.rate * Math.min(warmupMs + o.durationMs, PHASE_LIMIT_MS)) / 1000);
  const start = wallMs() + 20;
  const recordFrom = start + warmupMs;
  const intended = (i: number) => start + (i * 1000) / o.rate;
  let i = 0;
  let inflight = 0;
  return new Promise((resolve) => {
    const finish = () => {
      // Wait for answers still out, at most 10 s.
      const waitUntil = wallMs() + 10_000;
      const check = () => {
        if (inflight === 0 || wallMs() > waitUntil) resolve({ latency, lag, statuses, sent: i, unfinished: inflight });
        else setTimeout(check, 5);
      };
      check();
    };
    const pump = () => {
      if (o.stop?.()) return finish();
      let now = wallMs();
      while (i < total && intended(i) <= now) {
        const t = intended(i);
        const record = t >= recordFrom;
        const late = now - t;
        if (record) lag.add(late);
        inflight++;
        send(i).then(
          (r) => {
            if (!record) return;
            const l = wallMs() - t;
            latency.add(l);
            bump(statuses, r.status);
            o.onSample?.(t, l, r.status, late);
          },
          () => bump(statuses, 'error'),
        ).finally(() => inflight--).catch(() => undefined);
        i++;
        now = wallMs();
      }
      if (i >= total) return finish();
      const wait = intended(i) - wallMs();
      // Timers are coarse (≥ 1 ms): sleep only when the next send is far, else spin via setImmediate.
      if (wait > 3) setTimeout(pump, wait - 2);
      else setImmediate(pump);
    };
    pump();
  });
}

async function openHeartbeat(c: Extract<Command, { cmd: 'open-heartbeat' }>): Promise<OpenResult> {
  const sessions = poolOf(c.pool);
  const client = makeClient(c.target, c.connections);
  const win = new Window(c.serverPid);
  const timer = win.run(c.warmupMs + 20, c.durationMs);
  try {
    const out = await openLoop({ rate: c.rate, warmupMs: c.warmupMs, durationMs: c.durationMs }, (i) => heartbeat(client, sessions[i % sessions.length]!));
    await timer;
    return {
      rate: c.rate, sent: out.latency.count, statuses: out.statuses, latency: summarize(out.latency), lag: summarize(out.lag),
      serverCpu: win.serverCpu, genCpu: win.genCpu, otherCpu: win.otherCpu, unfinished: out.unfinished,
    };
  } finally {
    client.close();
  }
}

async function contend(c: Extract<Command, { cmd: 'contend' }>): Promise<ContendResult> {
  const client = makeClient(c.target, c.connections);
  const statuses: StatusCounts = {};
  const latency = new Samples();
  const win = new Window(c.serverPid);
  let requests = 0;
  let grants = 0;
  let refusals = 0;
  let releases = 0;
  let leaked = 0;
  // Strict: +1 when the 201 arrives (after the server granted), −1 when the DELETE is sent
  // (before the server frees): always inside the server's hold, so > seats is a real over-grant.
  let heldStrict = 0;
  let heldLoose = 0;
  let maxHeldStrict = 0;
  let maxHeldLoose = 0;
  let overGrantsSeen = 0;
  const hardStop = wallMs() + PHASE_LIMIT_MS;
  const count = (t: number, r: Resp) => {
    if (!win.measuring) return;
    requests++;
    latency.add(wallMs() - t);
    bump(statuses, r.status);
  };
  const one = async () => {
    let t = wallMs();
    const r = await client.request({ method: 'POST', path: '/v1/leases', token: c.apiKey, json: { product: c.product }, wantBody: true });
    count(t, r);
    if (r.status === 201) {
      heldStrict++;
      heldLoose++;
      maxHeldStrict = Math.max(maxHeldStrict, heldStrict);
      maxHeldLoose = Math.max(maxHeldLoose, heldLoose);
      overGrantsSeen = Math.max(overGrantsSeen, heldStrict - c.seats);
      if (win.measuring) grants++;
      let s: Session;
      try {
        s = parseSession(r.body);
      } finally {
        heldStrict--;
      }
      t = wallMs();
      const d = await client.request({ method: 'DELETE', path: `/v1/sessions/${s.id}`, token: s.token }).catch((e: unknown) => {
        leaked++;
        heldLoose--;
        throw e;
      });
      heldLoose--;
      count(t, d);
      if (d.status === 204) {
        if (win.measuring) releases++;
      } else {
        leaked++;
      }
    } else if (r.status === 409) {
      if (win.measuring) refusals++;
    } else {
      await sleep(5);
    }
  };

  // The server's own count, polled while the phase runs.
  const poller = makeClient(c.target, 1);
  let maxUsageInUse: number | null = null;
  let usagePolls = 0;
  const poll = async () => {
    while (!win.done && wallMs() < hardStop) {
      const inUse = await usageInUse(poller, c.adminToken, c.product).catch(() => null);
      if (inUse !== null) {
        usagePolls++;
        maxUsageInUse = Math.max(maxUsageInUse ?? 0, inUse);
      }
      await sleep(100);
    }
  };

  const timer = win.run(c.warmupMs, c.durationMs);
  try {
    await Promise.all([closedLoop(win, c.clients, statuses, one), poll(), timer]);
  } finally {
    client.close();
    poller.close();
  }
  return {
    requests, seconds: win.seconds, rps: requests / win.seconds, statuses, latency: summarize(latency),
    serverCpu: win.serverCpu, genCpu: win.genCpu, otherCpu: win.otherCpu,
    grants, refusals, releases, maxHeldStrict, maxHeldLoose, overGrantsSeen, maxUsageInUse, usagePolls, leaked,
  };
}

/**
 * Expiry storms, `rounds` of them one after another: steady sessions heartbeat at a fixed rate
 * throughout; in each round, after a quiet window, `stormCount` sessions with a short timeout
 * are started and kept alive, then all heartbeat once more (a wave) and stop at once. GET
 * /v1/usage is polled every 100 ms until they are freed.
 */
async function storm(c: Extract<Command, { cmd: 'storm' }>): Promise<StormResult> {
  const steady = poolOf(c.steadyPool);
  const limitAt = wallMs() + PHASE_LIMIT_MS;
  const clients: Client[] = [];
  const client = (n: number) => {
    const cl = makeClient(c.target, n);
    clients.push(cl);
    return cl;
  };
  const steadyClient = client(64);
  const pollClient = client(1);
  const t0 = wallMs();

  // Steady heartbeats, open loop, for as long as the phase runs.
  let steadyStop = false;
  const steadyT: number[] = [];
  const steadyL: number[] = [];
  const steadyLag: number[] = [];
  const steadyRun = openLoop(
    { rate: c.steadyRate, durationMs: PHASE_LIMIT_MS, stop: () => steadyStop || wallMs() > limitAt, onSample: (t, l, _status, lag) => (steadyT.push(t), steadyL.push(l), steadyLag.push(lag)) },
    (i) => heartbeat(steadyClient, steady[i % steady.length]!),
  );

  // The server's view, every 100 ms, with its CPU time at each poll.
  const polls: { t: number; inUse: number | null; cpu: number | null; gen: number | null; sys: number | null }[] = [];
  let pollStop = false;
  const pollLatency = new Samples();
  const poller = (async () => {
    for (let n = 1; !pollStop && wallMs() < limitAt; n++) {
      const sent = wallMs();
      const inUse = await usageInUse(pollClient, c.adminToken, c.stormProduct).catch(() => null);
      pollLatency.add(wallMs() - sent);
      polls.push({ t: wallMs(), inUse, cpu: cpuSeconds(c.serverPid), gen: cpuSeconds(process.pid), sys: systemBusySeconds() });
      await sleep(Math.max(0, t0 + n * 100 - wallMs()));
    }
  })();

  /**
   * One storm: the quiet window (its first second left out: the steady load's own start, or
   * the previous storm's aftermath), then the storm sessions, their last wave and the expiry.
   */
  const oneStorm = async (round: number) => {
    const roundStart = wallMs();
    await sleep(c.beforeMs + (round > 0 ? 1000 : 0));
    const before = { from: roundStart + 1000, to: wallMs() };

    // Start the storm sessions while a keeper heartbeats each every 40 % of the timeout. The
    // starts use few connections and the keeper many, so that the server's FIFO of requests
    // never leaves the keeper behind (an acquire costs several heartbeats).
    const period = c.timeoutS * 1000 * 0.4;
    const stormSessions: Session[] = [];
    const queue: { s: Session; due: number }[] = [];
    let head = 0;
    let keeperStop = false;
    let keeperInflight = 0;
    const KEEPER_INFLIGHT = 128;
    const keeperClient = client(KEEPER_INFLIGHT);
    const keeper = new Promise<void>((resolve) => {
      const pump = () => {
        if (keeperStop || wallMs() > limitAt) {
          if (keeperInflight === 0) resolve();
          else setTimeout(pump, 5);
          return;
        }
        const now = wallMs();
        while (keeperInflight < KEEPER_INFLIGHT && head < queue.length && queue[head]!.due <= now) {
          const e = queue[head++]!;
          keeperInflight++;
          heartbeat(keeperClient, e.s)
            .then((r) => {
              if (r.status === 200) queue.push({ s: e.s, due: wallMs() + period });
            })
            .catch(() => queue.push({ s: e.s, due: wallMs() + 100 }))
            .finally(() => keeperInflight--)
            .catch(() => undefined);
        }
        if (head > 10_000) {
          queue.splice(0, head);
          head = 0;
        }
        setTimeout(pump, 10);
      };
      pump();
    });
    const created = await createSessions(
      { target: c.target, serverPid: c.serverPid, product: c.stormProduct, apiKey: c.apiKey, count: c.stormCount, connections: 16, timeLimitMs: 30_000 },
      (s) => {
        stormSessions.push(s);
        queue.push({ s, due: wallMs() + period });
      },
    );
    await sleep(1000);
    keeperStop = true;
    await keeper;

    // The last wave: every storm session heartbeats once, then none does again.
    const waveClient = client(c.connections);
    const waveStart = wallMs();
    let next = 0;
    let expiredEarly = 0;
    await Promise.all(
      Array.from({ length: c.connections }, async () => {
        while (next < stormSessions.length && wallMs() < limitAt) {
          const s = stormSessions[next++]!;
          const r = await heartbeat(waveClient, s).catch(() => null);
          if (r?.status !== 200) expiredEarly++;
        }
      }),
    );
    const stopAt = wallMs();

    // Wait until the server shows them freed (bounded: timeout + 10 s).
    const waitLimit = stopAt + c.timeoutS * 1000 + 10_000;
    let inUseAtStop: number | null = null;
    let firstDropAt: number | null = null;
    let freedAt: number | null = null;
    let seen = polls.length;
    while (freedAt === null && wallMs() < waitLimit && wallMs() < limitAt) {
      await sleep(20);
      for (; seen < polls.length; seen++) {
        const p = polls[seen]!;
        if (p.t <= stopAt || p.inUse === null) continue;
        inUseAtStop ??= p.inUse;
        if (firstDropAt === null && p.inUse < inUseAtStop) firstDropAt = p.t;
        if (p.inUse === 0) {
          freedAt = p.t;
          firstDropAt ??= p.t;
          break;
        }
      }
    }
    await sleep(500);
    const during = { from: (firstDropAt ?? stopAt + c.timeoutS * 1000 - 1000) - 500, to: (freedAt ?? wallMs()) + 500 };
    return {
      before, during,
      figures: {
        created: created.created,
        createSeconds: created.seconds,
        expiredEarly,
        waveSeconds: (stopAt - waveStart) / 1000,
        inUseAtStop,
        firstDropMs: firstDropAt === null ? null : firstDropAt - stopAt,
        freedMs: freedAt === null ? null : freedAt - stopAt,
        freedFromWaveStartMs: freedAt === null ? null : freedAt - waveStart,
      },
    };
  };

  try {
    const storms = [];
    for (let round = 0; round < c.rounds; round++) storms.push(await oneStorm(round));
    steadyStop = true;
    pollStop = true;
    const steadyOut = await steadyRun;
    await poller;

    type Window = { from: number; to: number };
    // The steady heartbeats' latencies (or send lags) in any of the windows, as one population.
    const windowed = (windows: Window[], of: number[] = steadyL) => {
      const s = new Samples();
      steadyT.forEach((t, k) => {
        if (windows.some((w) => t >= w.from && t <= w.to)) s.add(of[k]!);
      });
      return summarize(s);
    };
    // CPU over the windows, % of one core: the polls' CPU seconds summed over the windows' spans.
    const cpuOver = (windows: Window[], of: 'cpu' | 'gen' | 'sys'): number | null => {
      let used = 0;
      let spanMs = 0;
      for (const w of windows) {
        const a = polls.find((p) => p.t >= w.from);
        const b = [...polls].reverse().find((p) => p.t <= w.to);
        const va = a?.[of];
        const vb = b?.[of];
        if (!a || !b || b.t <= a.t || va === null || vb === null || va === undefined || vb === undefined) return null;
        used += vb - va;
        spanMs += b.t - a.t;
      }
      return (used / (spanMs / 1000)) * 100;
    };
    const other = (windows: Window[]) => otherCpu(cpuOver(windows, 'sys'), cpuOver(windows, 'cpu'), cpuOver(windows, 'gen'));
    const steadyOver = (before: Window[], during: Window[]) => ({
      steadyBefore: windowed(before),
      steadyDuring: windowed(during),
      steadyLagP99Before: windowed(before, steadyLag).p99,
      steadyLagP99During: windowed(during, steadyLag).p99,
      serverCpuBefore: cpuOver(before, 'cpu'),
      serverCpuDuring: cpuOver(during, 'cpu'),
      otherCpuBefore: other(before),
      otherCpuDuring: other(during),
    });
    const rounds = storms.map((r) => ({ ...r.figures, ...steadyOver([r.before], [r.during]) }));
    const worstOf = (f: (r: (typeof rounds)[number]) => number | null) => {
      const vs = rounds.map(f);
      return vs.includes(null) ? null : Math.max(...(vs as number[]));
    };
    return {
      stormCount: c.stormCount,
      timeoutS: c.timeoutS,
      // Each storm's own figures, and over all of them: the least created, the latest freed.
      rounds,
      created: Math.min(...rounds.map((r) => r.created)),
      createSeconds: Math.max(...rounds.map((r) => r.createSeconds)),
      expiredEarly: Math.max(...rounds.map((r) => r.expiredEarly)),
      waveSeconds: Math.max(...rounds.map((r) => r.waveSeconds)),
      inUseAtStop: rounds[0]!.inUseAtStop,
      firstDropMs: rounds.some((r) => r.firstDropMs === null) ? null : Math.min(...rounds.map((r) => r.firstDropMs!)),
      freedMs: worstOf((r) => r.freedMs),
      freedFromWaveStartMs: worstOf((r) => r.freedFromWaveStartMs),
      // The steady heartbeats of every quiet window as one population, and of every expiry as another.
      ...steadyOver(storms.map((r) => r.before), storms.map((r) => r.during)),
      steadyStatuses: steadyOut.statuses,
      steadyLagP99: steadyOut.lag.pct(99),
      usagePolls: polls.length,
      usagePollLatency: summarize(pollLatency),
    };
  } finally {
    steadyStop = true;
    pollStop = true;
    for (const cl of clients) cl.close();
  }
}

async function handle(c: Command): Promise<Result> {
  switch (c.cmd) {
    case 'closed-get':
      return closedPhase(c, (client) => client.request({ method: 'GET', path: c.path }));
    case 'closed-heartbeat': {
      const sessions = poolOf(c.pool);
      let next = 0;
      return closedPhase(c, (client) => heartbeat(client, sessions[next++ % sessions.length]!));
    }
    case 'create': {
      const pool: Session[] | null = c.pool === null ? null : (pools.get(c.pool) ?? []);
      if (c.pool !== null && pool) pools.set(c.pool, pool);
      return createSessions(c, (s) => pool?.push(s));
    }
    case 'close':
      return closeSessions(c);
    case 'open-heartbeat':
      return openHeartbeat(c);
    case 'contend':
      return contend(c);
    case 'storm':
      return storm(c);
    case 'exit':
      return null;
  }
}

function reply(r: Reply, then?: () => void): void {
  if (!process.send) throw new Error('load.ts must run as a child process with an IPC channel');
  process.send(r, undefined, undefined, () => then?.());
}

process.on('message', (m: Request) => {
  handle(m).then(
    (result) => reply({ id: m.id, ok: true, result }, m.cmd === 'exit' ? () => process.exit(0) : undefined),
    (err: unknown) => reply({ id: m.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
// The orchestrator is gone: stop at once.
process.on('disconnect', () => process.exit(0));
