import { type Command, InvalidArgumentError } from 'commander';
import { resolveConn, type ConnOptions } from './config.js';
import type { Conn } from './http.js';

export interface GlobalOptions extends ConnOptions {
  json?: boolean;
}

/** The options every command that talks to a server takes. */
export function withConn(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'server URL (else $SEATKEEPER_URL, else the config file)')
    .option('--token <token>', 'bearer token: user token or API key (else $SEATKEEPER_TOKEN, else the config file)')
    .option('--config <file>', 'config file (default ~/.config/seatkeeper/config.json)')
    .option('--json', 'print the answer as JSON, for scripts');
}

export const connOf = (o: GlobalOptions): Conn => resolveConn(o);

export function integer(min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

export function seconds(max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > max) throw new InvalidArgumentError(`expected a number of seconds from 0 to ${max}`);
    return n;
  };
}

/** An ISO-8601 time (a date alone means midnight UTC). */
export function isoTime(v: string): string {
  const t = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(t)) throw new InvalidArgumentError('expected an ISO-8601 time such as 2026-06-01 or 2026-06-01T12:00:00Z');
  return new Date(t).toISOString();
}

export function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}
