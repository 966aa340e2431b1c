/**
 * The administrator's commands: they talk to a running server over its HTTP API, with the
 * URL and token from flags, the environment or the config file (see config.ts).
 */
import { type Command, CommanderError } from 'commander';
import { CliError, EXIT } from './errors.js';
import { registerLogin } from './login.js';
import { registerObserve } from './observe.js';
import { registerSetup } from './setup.js';
import { registerSteer } from './steer.js';

export function registerAdminCommands(program: Command): void {
  registerLogin(program);
  registerObserve(program);
  registerSteer(program);
  registerSetup(program);
}

/**
 * Prints why a command failed and answers its exit code: 0 help, 1 refused by the server
 * (or any other failure), 2 used wrongly, 3 server unreachable. With --json a refusal's
 * problem body also goes to standard output, for scripts.
 */
export function reportFailure(err: unknown, argv: string[]): number {
  if (err instanceof CommanderError) {
    // Commander has printed its message already.
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (err instanceof CliError) {
    process.stderr.write(`seatkeeper: ${err.message}\n`);
    if (err.problem && argv.includes('--json')) process.stdout.write(`${JSON.stringify(err.problem, null, 2)}\n`);
    return err.exitCode;
  }
  process.stderr.write(`seatkeeper: ${err instanceof Error ? err.message : String(err)}\n`);
  return EXIT.refused;
}
