/**
 * Why a command failed, and the exit code that says so: 1 the server refused (a problem
 * answer), 2 the command was used wrongly (bad flags, no URL or token), 3 the server could
 * not be reached.
 */
export const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    /** The server's problem+json body, for refusals. */
    readonly problem: Record<string, unknown> | null = null,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.usage);
