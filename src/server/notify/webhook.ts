/**
 * Webhook requests: the body, its signature, and one POST with a time limit. The signature
 * follows the common "timestamp.body" scheme so receivers can reject replays:
 * `Seatkeeper-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export function signature(secret: string, unixSeconds: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/**
 * Checks a `Seatkeeper-Signature` header against the raw body: the MAC must match and the
 * timestamp be within `toleranceSec` of `nowSec`. What a receiver runs (and the tests do).
 */
export function verifySignature(secret: string, header: string, body: string, nowSec: number, toleranceSec = 300): boolean {
  const parts = new Map(header.split(',').map((kv) => kv.split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1');
  if (!Number.isInteger(t) || !v1 || Math.abs(nowSec - t) > toleranceSec) return false;
  const expected = Buffer.from(signature(secret, t, body).split('v1=')[1]!, 'hex');
  const got = Buffer.from(v1, 'hex');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

export interface SendResult {
  ok: boolean;
  status: number | null;
  error: string | null;
}

/** POSTs one delivery. Redirects are not followed (a 3xx is a failure). */
export async function postWebhook(
  url: string, secret: string, body: string, headers: Record<string, string>, unixSeconds: number, timeoutMs: number,
): Promise<SendResult> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      headers: { 'content-type': 'application/json', 'user-agent': 'Seatkeeper-Webhooks/1', ...headers, 'seatkeeper-signature': signature(secret, unixSeconds, body) },
      body,
    });
    await res.arrayBuffer().catch(() => undefined);
    return res.ok ? { ok: true, status: res.status, error: null } : { ok: false, status: res.status, error: `HTTP ${res.status}` };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const reason = err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err.cause?.code ?? err.cause?.message ?? err.message);
    return { ok: false, status: null, error: reason };
  }
}
