/**
 * Typed errors. Every failure the SDK reports is a `SeatkeeperError` whose `code` is either
 * one of the API's problem codes (API.md, docs/api-errors.md) or one of the client-side
 * codes below for answers that never came.
 */

/** Problem codes the server answers with (API.md "Conventions"). */
export const API_CODES = [
  'bad-request',
  'unauthorized',
  'forbidden',
  'not-found',
  'conflict',
  'no-seat',
  'user-limit',
  'endpoint-disabled',
  'quota-exhausted',
  'device-limit',
  'license-suspended',
  'session-ended',
  'payload-too-large',
  'unsupported-media-type',
  'rate-limited',
  'internal-error',
  'unavailable',
] as const;
export type ApiCode = (typeof API_CODES)[number];

/**
 * Client-side codes: `network-error` (the server could not be reached: refused, reset, DNS),
 * `timeout` (no answer within the request timeout), `invalid-response` (an answer that is
 * not the API's, e.g. HTML from a proxy).
 */
export type ClientCode = 'network-error' | 'timeout' | 'invalid-response';
export type ErrorCode = ApiCode | ClientCode;

/** The problem+json body, with the extra members some codes carry. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  /** no-seat, user-limit: the product, its seats in use and capacity. */
  product?: string;
  inUse?: number;
  capacity?: number;
  /** no-seat, user-limit: seconds after which a retry may succeed. */
  retryAfter?: number;
  /** no-seat, user-limit: the caller's own leases (one may be ended at manageUrl). */
  ownLeases?: unknown[];
  manageUrl?: string;
  maxLeases?: number;
  /** session-ended: why (expired, ended, released, terminated, …). */
  reason?: string;
  field?: string;
  [extra: string]: unknown;
}

const STATUS_CODES: Record<number, ApiCode> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  409: 'conflict',
  410: 'session-ended',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  429: 'rate-limited',
  500: 'internal-error',
  503: 'unavailable',
};

export class SeatkeeperError extends Error {
  override readonly name = 'SeatkeeperError';
  /** The API's problem code, or a client-side code (see `ClientCode`). */
  readonly code: ErrorCode;
  /** HTTP status; 0 when no answer came. */
  readonly status: number;
  /** The problem+json body as sent (empty for client-side codes). */
  readonly problem: Problem;

  constructor(code: ErrorCode, status: number, message: string, problem: Problem = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.status = status;
    this.problem = problem;
  }

  /** no-seat and user-limit: seconds after which the server suggests trying again. */
  get retryAfter(): number | undefined {
    return typeof this.problem.retryAfter === 'number' ? this.problem.retryAfter : undefined;
  }

  /** no-seat and user-limit: the caller's own leases. */
  get ownLeases(): unknown[] {
    return Array.isArray(this.problem.ownLeases) ? this.problem.ownLeases : [];
  }

  /** session-ended: why the session ended. */
  get reason(): string | undefined {
    return typeof this.problem.reason === 'string' ? this.problem.reason : undefined;
  }

  /** True when no answer came (a retry later may reach the server). */
  get unreachable(): boolean {
    return this.status === 0;
  }

  /** Builds the error for a non-2xx answer from its (possibly non-JSON) body. */
  static fromAnswer(status: number, body: unknown): SeatkeeperError {
    if (isProblem(body)) {
      const code = (API_CODES as readonly string[]).includes(body.code) ? (body.code as ApiCode) : (STATUS_CODES[status] ?? 'invalid-response');
      return new SeatkeeperError(code, status, body.detail ?? body.title ?? `HTTP ${status}`, body);
    }
    const code = STATUS_CODES[status] ?? (status >= 500 ? 'internal-error' : 'invalid-response');
    return new SeatkeeperError(code, status, `HTTP ${status} without a problem body`, { status });
  }
}

function isProblem(v: unknown): v is Problem & { code: string } {
  return typeof v === 'object' && v !== null && typeof (v as { code?: unknown }).code === 'string';
}

export function isSeatkeeperError(e: unknown, code?: ErrorCode): e is SeatkeeperError {
  return e instanceof SeatkeeperError && (code === undefined || e.code === code);
}

/**
 * Codes that no retry can cure: the request or the credentials are wrong. A handle stops on
 * these (state `failed`) instead of retrying forever. Refusals (`no-seat`, `user-limit`,
 * `endpoint-disabled`, …), outages and rate limits are retried.
 */
export const FATAL_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'bad-request',
  'unauthorized',
  'forbidden',
  'not-found',
  'payload-too-large',
  'unsupported-media-type',
]);
