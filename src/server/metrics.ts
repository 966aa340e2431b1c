import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per app instance, so that tests building several apps do not collide. */
export function createMetrics(liveSessions: () => number) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'seatkeeper_process_' });
  return {
    registry,
    grants: new Counter({ name: 'seatkeeper_grants_total', help: 'Sessions started, by product and whether a new lease (seat) was taken', labelNames: ['product', 'lease'] as const, registers: [registry] }),
    refusals: new Counter({ name: 'seatkeeper_refusals_total', help: 'Refused acquisitions, by product and code', labelNames: ['product', 'code'] as const, registers: [registry] }),
    queued: new Counter({ name: 'seatkeeper_queued_total', help: 'Requests that joined a queue, by product', labelNames: ['product'] as const, registers: [registry] }),
    /** Counted in a plain number (`heartbeat()`), read when scraped: the hottest path pays nothing. */
    heartbeats: (() => {
      let n = 0;
      new Counter({ name: 'seatkeeper_heartbeats_total', help: 'Accepted heartbeats', registers: [registry], collect() { this.reset(); this.inc(n); } });
      return { inc: () => void n++ };
    })(),
    expired: new Counter({ name: 'seatkeeper_sessions_expired_total', help: 'Sessions removed after a heartbeat timeout', registers: [registry] }),
    leasesEnded: new Counter({ name: 'seatkeeper_leases_ended_total', help: 'Leases ended, by reason', labelNames: ['reason'] as const, registers: [registry] }),
    alerts: new Counter({ name: 'seatkeeper_alerts_total', help: 'Alert thresholds fired, by kind', labelNames: ['kind'] as const, registers: [registry] }),
    deliveries: new Counter({ name: 'seatkeeper_deliveries_total', help: 'Delivery attempts (e-mail, webhook), by channel and outcome', labelNames: ['channel', 'outcome'] as const, registers: [registry] }),
    live: new Gauge({ name: 'seatkeeper_live_sessions', help: 'Sessions this server is timing', registers: [registry], collect() { this.set(liveSessions()); } }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
