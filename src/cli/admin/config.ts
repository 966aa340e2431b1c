import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError, EXIT, usageError } from './errors.js';
import type { Conn } from './http.js';

export interface ConfigFile {
  url?: string;
  token?: string;
  account?: string;
  username?: string;
}

export interface ConnOptions {
  url?: string;
  token?: string;
  config?: string;
}

/** --config, else $SEATKEEPER_CONFIG, else $XDG_CONFIG_HOME or ~/.config, /seatkeeper/config.json. */
export function configPath(o: ConnOptions): string {
  if (o.config) return o.config;
  if (process.env.SEATKEEPER_CONFIG) return process.env.SEATKEEPER_CONFIG;
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'seatkeeper', 'config.json');
}

export function readConfig(path: string): ConfigFile {
  if (!existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CliError(`cannot read the config file ${path}: ${e instanceof Error ? e.message : String(e)}`, EXIT.usage);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CliError(`the config file ${path} is not a JSON object`, EXIT.usage);
  return parsed as ConfigFile;
}

/** The file holds a bearer token: only its owner may read it. */
export function writeConfig(path: string, c: ConfigFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(c, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** Flags first, then SEATKEEPER_URL / SEATKEEPER_TOKEN, then the config file. */
export function resolveConn(o: ConnOptions, needToken = true): Conn {
  const file = readConfig(configPath(o));
  const url = o.url ?? process.env.SEATKEEPER_URL ?? file.url;
  const token = o.token ?? process.env.SEATKEEPER_TOKEN ?? file.token ?? null;
  if (!url) throw usageError('no server URL: pass --url, set SEATKEEPER_URL, or run `seatkeeper login`');
  if (!/^https?:\/\//.test(url)) throw usageError(`the server URL must start with http:// or https:// (got ${url})`);
  if (needToken && !token) throw usageError('no token: pass --token, set SEATKEEPER_TOKEN, or run `seatkeeper login`');
  return { url, token };
}
