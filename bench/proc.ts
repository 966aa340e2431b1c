/** Reading another process's CPU time and memory from /proc (Linux only; null elsewhere). */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

let clkTck: number | null = null;

function ticksPerSecond(): number {
  if (clkTck === null) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** Wall clock in ms since the epoch with sub-ms resolution; comparable across processes. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** utime + stime of a process, in seconds (all its threads), or null if unreadable. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing paren are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
    return (utime + stime) / ticksPerSecond();
  } catch {
    return null;
  }
}

/**
 * Write-like system calls a process has made (`syscw` in /proc/<pid>/io: write, writev,
 * send…), or null if unreadable. Each write to a socket is one, so a statement saved on the
 * way to PostgreSQL shows here however noisy the machine's rates are.
 */
export function writeCalls(pid: number): number | null {
  try {
    const m = /^syscw:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * CPU time the calling thread has run, in ms, from /proc/thread-self/schedstat (nanoseconds,
 * unlike /proc's clock ticks), or null if unreadable. Called on the event loop, it tells the
 * event loop's share of a process whose worker threads also run.
 */
export function threadCpuMs(): number | null {
  try {
    const ns = Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
    return Number.isFinite(ns) ? ns / 1e6 : null;
  } catch {
    return null;
  }
}

/** Resident set size of a process in KiB (VmRSS), or null. */
export function rssKiB(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** CPU time all cores spent busy (not idle or iowait), in seconds, from /proc/stat. */
export function systemBusySeconds(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
    return busy / ticksPerSecond();
  } catch {
    return null;
  }
}

export interface CpuWindow {
  /** Share of one core used over the window, in percent (100 = one core saturated). */
  stop(): number | null;
}

/**
 * Starts measuring a process's CPU share (or, with pid null, the whole machine's busy time);
 * `stop()` gives the percentage of one core.
 */
export function cpuWindow(pid: number | null): CpuWindow {
  const read = () => (pid === null ? systemBusySeconds() : cpuSeconds(pid));
  const c0 = read();
  const t0 = wallMs();
  return {
    stop() {
      const c1 = read();
      const dt = (wallMs() - t0) / 1000;
      if (c0 === null || c1 === null || dt <= 0) return null;
      return ((c1 - c0) / dt) * 100;
    },
  };
}

/** Pids of the processes whose command name (`/proc/<pid>/comm`) is `comm` (Linux; [] elsewhere). */
export function pidsNamed(comm: string): number[] {
  try {
    return readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          return readFileSync(`/proc/${d}/comm`, 'utf8').trim() === comm;
        } catch {
          return false;
        }
      })
      .map(Number);
  } catch {
    return [];
  }
}
