import { SeatkeeperApi, type ApiOptions } from './http.js';
import { SeatkeeperError } from './errors.js';
import { backoffDelay, systemTimers } from './timers.js';

export interface UsageReport {
  product: string;
  /** Units used since the last report (an integer ≥ 1). */
  units: number;
  device?: string;
  /**
   * Names this report so that a retry counts once. Generated when not given; pass your own
   * to make retries across process restarts safe too (e.g. `${batchId}`).
   */
  idempotencyKey?: string;
}

export interface UsageAnswer {
  product: string;
  used: number;
  quota: number;
  limit: number;
  percent: number;
  /** True from 100 % of the quota: the account has been warned; reports still count up to `limit`. */
  warning: boolean;
  /** True when the server had already counted this report (a retry). */
  replayed: boolean;
}

export interface ReportOptions extends ApiOptions {
  /** Attempts when the server cannot be reached (default 4); refusals are never retried. */
  attempts?: number;
  random?: () => number;
}

/**
 * Reports units of a metered product (POST /v1/usage) and retries on network failures and
 * timeouts under one idempotency key, so a report whose answer was lost is not counted
 * twice. A refusal (`quota-exhausted` past the quota's limit) throws `SeatkeeperError`.
 */
export async function reportUsage(o: ReportOptions, r: UsageReport): Promise<UsageAnswer> {
  const api = new SeatkeeperApi(o);
  const timers = o.timers ?? systemTimers;
  const key = r.idempotencyKey ?? globalThis.crypto.randomUUID();
  const attempts = o.attempts ?? 4;
  for (let attempt = 1; ; attempt++) {
    try {
      const body = { product: r.product, units: r.units, ...(r.device !== undefined && { device: r.device }) };
      return (await api.request<UsageAnswer>('POST', '/v1/usage', { body, headers: { 'idempotency-key': key } })).body;
    } catch (e) {
      if (!(e instanceof SeatkeeperError) || !e.unreachable || attempt >= attempts) throw e;
      const delay = backoffDelay(attempt, { initialDelay: 500, maxDelay: 10_000 }, o.random ?? Math.random);
      await new Promise<void>((resolve) => timers.setTimeout(resolve, delay));
    }
  }
}
