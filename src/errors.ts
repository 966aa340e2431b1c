/**
 * The one error catalogue (API.md "Conventions"). Every problem+json answer the server gives
 * carries one of these codes with this status and title; `test/errors.test.ts` checks the
 * list against docs/api-errors.md so that code and docs cannot drift.
 */
export const PROBLEMS = {
  'bad-request': { status: 400, title: 'Bad request' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  'not-found': { status: 404, title: 'Not found' },
  conflict: { status: 409, title: 'Conflict' },
  'no-seat': { status: 409, title: 'No seat available' },
  'user-limit': { status: 409, title: 'Personal seat limit reached' },
  'endpoint-disabled': { status: 403, title: 'Endpoint disabled' },
  'quota-exhausted': { status: 403, title: 'Usage quota exhausted' },
  'device-limit': { status: 409, title: 'Device limit reached' },
  'license-suspended': { status: 403, title: 'License suspended' },
  'session-ended': { status: 410, title: 'Session ended' },
  'payload-too-large': { status: 413, title: 'Payload too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  'internal-error': { status: 500, title: 'Internal server error' },
  unavailable: { status: 503, title: 'Service unavailable' },
} as const;

export type ProblemCode = keyof typeof PROBLEMS;

/** An error that the HTTP layer turns into problem+json; `extra` members are merged in. */
export class ApiError extends Error {
  readonly code: ProblemCode;
  readonly status: number;
  readonly extra: Record<string, unknown>;

  constructor(code: ProblemCode, detail: string, extra: Record<string, unknown> = {}) {
    // An answer the client caused (4xx) is an expected outcome, not a fault: no stack trace,
    // whose capture is a large part of the cost of a refusal under load.
    const limit = Error.stackTraceLimit;
    if (PROBLEMS[code].status < 500) Error.stackTraceLimit = 0;
    super(detail);
    Error.stackTraceLimit = limit;
    this.name = 'ApiError';
    this.code = code;
    this.status = PROBLEMS[code].status;
    this.extra = extra;
  }

  private text: string | undefined;

  /** The problem+json body, serialized once: a refusal repeated under contention is one error. */
  get body(): string {
    return (this.text ??= JSON.stringify(problemBody(this.code, this.message, this.extra)));
  }
}

function problemBody(code: ProblemCode, detail: string, extra: Record<string, unknown> = {}) {
  const p = PROBLEMS[code];
  return { type: `urn:seatkeeper:problem:${code}`, title: p.title, status: p.status, detail, code, ...extra };
}
