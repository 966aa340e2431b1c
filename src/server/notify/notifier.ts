/**
 * Sends what the outbox holds: alert e-mails and webhook deliveries. Each pass claims the
 * due messages (another server cannot claim them meanwhile), sends them concurrently with a
 * time limit each, and records the outcome: delivered, retried later with backoff, or failed
 * after the last attempt. A slow or failing receiver holds up nothing but its own message.
 */
import { DELIVERY_MAX_ATTEMPTS, retryDelayMs } from '../../engine/metering.js';
import type { AlertCondition, DueDelivery, Store } from '../../store/types.js';
import { type Clock, singleFlight } from '../deps.js';
import type { Metrics } from '../metrics.js';
import { alertMail } from './compose.js';
import type { Mailer } from './mailer.js';
import { postWebhook, type SendResult } from './webhook.js';

export interface NotifierOptions {
  /** Messages claimed per pass. */
  batch: number;
  /** How long a claimed message is reserved for this sender (ms). */
  leaseMs: number;
  /** Longest wait for a receiver (ms). */
  timeoutMs: number;
}

export const DEFAULT_NOTIFIER: NotifierOptions = { batch: 50, leaseMs: 60_000, timeoutMs: 10_000 };

export class Notifier {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly mailer: Mailer | null,
    private readonly metrics: Metrics,
    private readonly opts: NotifierOptions = DEFAULT_NOTIFIER,
  ) {}

  /** One pass; overlapping calls share it. Resolves to the number of messages attempted. */
  readonly run: () => Promise<number> = singleFlight(() => this.pass());

  private async pass(): Promise<number> {
    const due = await this.store.claimDeliveries(this.clock.now(), this.opts.batch, this.opts.leaseMs);
    await Promise.all(due.map(async (d) => {
      const r = await this.send(d).catch((e: unknown): SendResult => ({ ok: false, status: null, error: e instanceof Error ? e.message : String(e) }));
      const now = this.clock.now();
      const last = d.attempts >= DELIVERY_MAX_ATTEMPTS;
      this.metrics.deliveries.inc({ channel: d.channel, outcome: r.ok ? 'delivered' : last ? 'failed' : 'retry' });
      await this.store.finishDelivery(d.id, {
        status: r.ok ? 'delivered' : last ? 'failed' : 'pending',
        lastStatus: r.status,
        lastError: r.error,
        nextAttemptAt: r.ok || last ? now : now + retryDelayMs(d.attempts),
        deliveredAt: r.ok ? now : null,
      });
    }));
    return due.length;
  }

  private async send(d: DueDelivery): Promise<SendResult> {
    if (d.channel === 'email') {
      if (!this.mailer) return { ok: false, status: null, error: 'no SMTP server configured (SEATKEEPER_SMTP_URL)' };
      const account = await this.store.getAccount(d.accountId);
      const p = d.payload as { to: string[]; conditions: AlertCondition[] };
      await this.mailer.send(alertMail(account?.name ?? d.accountId, p.to, p.conditions));
      return { ok: true, status: null, error: null };
    }
    if (d.url === null || d.secret === null) return { ok: false, status: null, error: 'webhook deleted' };
    const body = JSON.stringify(d.payload);
    return postWebhook(d.url, d.secret, body, { 'seatkeeper-event': d.type, 'seatkeeper-delivery': d.id }, Math.floor(this.clock.now() / 1000), this.opts.timeoutMs);
  }

  close(): void {
    this.mailer?.close();
  }
}
