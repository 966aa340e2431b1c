import type { HeartbeatPolicy, SeatModel } from './types.js';

export const DEFAULT_HEARTBEAT: HeartbeatPolicy = { interval: 10, timeout: 30 };

export interface HeartbeatConfig {
  heartbeat: HeartbeatPolicy;
  clientTypes: Record<string, HeartbeatPolicy>;
}

/**
 * The heartbeat interval and timeout for one session: the client type's own values when the
 * product defines that client type (pixi: desktop 15 s, web 5 min), else the product's.
 */
export function heartbeatPolicy(product: HeartbeatConfig, clientType: string | null): HeartbeatPolicy {
  if (clientType !== null && Object.hasOwn(product.clientTypes, clientType)) {
    const own = product.clientTypes[clientType];
    if (own) return own;
  }
  return product.heartbeat;
}

/**
 * The identity of "one seat" under a seat model (SPEC §2). Two requests with the same key
 * share one lease; `null` means the request always opens a lease of its own.
 *
 * - `session`: every session is a seat, so no key.
 * - `user-device`: one seat per user per device; without a device nothing can be shared.
 * - `user`: one seat per user wherever they are; anonymous requests cannot share.
 * - `device`: one seat per device.
 */
export function seatKey(model: SeatModel, user: string | null, device: string | null): string | null {
  switch (model) {
    case 'session':
      return null;
    case 'user-device':
      return device === null ? null : `ud:${user ?? ''}:${device}`;
    case 'user':
      return user === null ? null : `u:${user}`;
    case 'device':
      return device === null ? null : `d:${device}`;
  }
}

/** Seats a license may grant past 100 % (its `overage` percent, rounded down). */
export function overageSeats(seats: number, overagePercent: number): number {
  return Math.floor((seats * overagePercent) / 100);
}
