/** `seatkeeper login`: get a user token (or check an API key) and keep it in the config file. */
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { configPath, readConfig, writeConfig } from './config.js';
import { usageError } from './errors.js';
import { api } from './http.js';
import { out, printJson } from './output.js';
import type { GlobalOptions } from './common.js';

/** One line from standard input: the password, piped or typed (not echoed on a terminal). */
async function readPassword(): Promise<string> {
  const tty = process.stdin.isTTY === true;
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: tty });
  if (tty) {
    process.stderr.write('Password: ');
    // Swallow the echo of what is typed.
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => undefined;
  }
  try {
    const line = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    if (tty) process.stderr.write('\n');
    return line;
  } finally {
    rl.close();
  }
}

export function registerLogin(program: Command): void {
  program
    .command('login')
    .description('log in and keep the server URL and token in the config file')
    .option('--url <url>', 'server URL (else $SEATKEEPER_URL, else the config file)')
    .option('--account <name>', 'account name', 'default')
    .option('--username <name>', 'user name (omit with --token to keep an API key instead)')
    .option('--password <password>', 'password (else $SEATKEEPER_PASSWORD, else read from standard input)')
    .option('--token <token>', 'keep this API key instead of logging in (it is checked first)')
    .option('--config <file>', 'config file (default ~/.config/seatkeeper/config.json)')
    .option('--json', 'print the answer as JSON')
    .action(async (o: GlobalOptions & { account: string; username?: string; password?: string }) => {
      const path = configPath(o);
      const file = readConfig(path);
      const url = o.url ?? process.env.SEATKEEPER_URL ?? file.url;
      if (!url) throw usageError('no server URL: pass --url or set SEATKEEPER_URL');
      if (!/^https?:\/\//.test(url)) throw usageError(`the server URL must start with http:// or https:// (got ${url})`);
      if (o.token !== undefined && o.username === undefined) {
        await api({ url, token: o.token }, 'GET', '/v1/usage');
        writeConfig(path, { url, token: o.token });
        if (o.json) return printJson({ url, config: path });
        return out(`Token checked against ${url} and saved to ${path}.`);
      }
      if (o.username === undefined) throw usageError('pass --username (and --account), or --token with an API key');
      const password = o.password ?? process.env.SEATKEEPER_PASSWORD ?? (await readPassword());
      if (!password) throw usageError('no password given');
      const r = (await api({ url, token: null }, 'POST', '/v1/auth/login', { body: { account: o.account, username: o.username, password } })).body as {
        token: string;
        expiresAt: string;
        user: { username: string; role: string };
      };
      writeConfig(path, { url, token: r.token, account: o.account, username: r.user.username });
      if (o.json) return printJson({ url, config: path, user: r.user, expiresAt: r.expiresAt });
      out(`Logged in to ${url} as ${r.user.username} (${r.user.role}) in account ${o.account}; token saved to ${path} (valid until ${r.expiresAt}).`);
    });
}
