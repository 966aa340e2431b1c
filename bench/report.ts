/** Tables, verdicts and the JSON result file. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Other load above this (% of one core) makes a phase's figures suspect. */
export const NOISY_OTHER_CPU = 25;

/** The worst noise among phases (null when none was measured). */
export function worst(...others: (number | null | undefined)[]): number | null {
  const known = others.filter((o): o is number => typeof o === 'number');
  return known.length ? Math.max(...known) : null;
}

export type Verdict = 'PASS' | 'FAIL' | 'INVALID' | 'INFO' | 'ERROR';

export interface SummaryRow {
  figure: string;
  value: number | null;
  unit: string;
  /** e.g. "≥ 60 % of bare" */
  target: string;
  verdict: Verdict;
  note?: string;
  /** Highest other-process CPU in the phases behind this figure (noise), % of one core. */
  otherCpu?: number | null;
}

export interface PhaseRow {
  phase: string;
  rps: number | null;
  p50: number | null;
  p99: number | null;
  serverCpu: number | null;
  genCpu: number | null;
  /** Everything else on the machine (noise), % of one core. */
  otherCpu: number | null;
  bottleneck: string;
  note?: string;
}



export function fmt(n: number | null | undefined, digits = 1): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(digits);
}

export function pct(n: number | null | undefined): string {
  return n === null || n === undefined || Number.isNaN(n) ? '—' : `${n.toFixed(0)} %`;
}

/** Which side limited a closed-loop phase, from the CPU share of each (100 % = one core). */
export function bottleneck(serverCpu: number | null, genCpu: number | null): string {
  const s = (serverCpu ?? 0) >= 85;
  const g = (genCpu ?? 0) >= 85;
  if (s && g) return 'both';
  if (s) return 'server CPU';
  if (g) return 'generator CPU';
  if (serverCpu === null) return 'unknown (no /proc)';
  return 'neither saturated';
}

export function atLeast(value: number | null, min: number): Verdict {
  if (value === null || Number.isNaN(value)) return 'ERROR';
  return value >= min ? 'PASS' : 'FAIL';
}

export function atMost(value: number | null, max: number): Verdict {
  if (value === null || Number.isNaN(value)) return 'ERROR';
  return value <= max ? 'PASS' : 'FAIL';
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function phaseTable(rows: PhaseRow[]): string {
  return table(
    ['phase', 'req/s', 'p50 ms', 'p99 ms', 'server CPU', 'gen CPU', 'other CPU', 'limited by'],
    rows.map((r) => [
      r.phase, fmt(r.rps, 0), fmt(r.p50, 2), fmt(r.p99, 2), pct(r.serverCpu), pct(r.genCpu),
      `${pct(r.otherCpu)}${(r.otherCpu ?? 0) > NOISY_OTHER_CPU ? ' !' : ''}`, r.bottleneck,
    ]),
  );
}

export function summaryTable(rows: SummaryRow[]): string {
  return table(
    ['figure', 'value', 'target', 'verdict'],
    rows.map((r) => {
      const notes = [r.note, (r.otherCpu ?? 0) > NOISY_OTHER_CPU ? `noisy: other CPU ${pct(r.otherCpu)}` : undefined].filter(Boolean);
      return [r.figure, `${fmt(r.value, 2)} ${r.unit}`.trim(), r.target, notes.length ? `${r.verdict} (${notes.join('; ')})` : r.verdict];
    }),
  );
}

export function writeJson(path: string, data: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`);
}
