/** Store records → the API's JSON shapes (ISO times, product keys, no internal ids). */
import type { Account, ApiKey, Endpoint, Lease, License, Product, Team, User } from '../store/types.js';

let lastTime = Number.NaN;
let lastIso = '';
/**
 * ISO 8601 of an instant. The last answer is kept: the heartbeats answered within one
 * millisecond share their expiry time, and formatting a date is a visible part of a heartbeat.
 */
export const iso = (t: number): string => {
  if (t !== lastTime) {
    lastIso = new Date(t).toISOString();
    lastTime = t;
  }
  return lastIso;
};
export const isoOrNull = (t: number | null): string | null => (t === null ? null : iso(t));
export const fromIso = (s: string | null | undefined): number | null => (s === null || s === undefined ? null : Date.parse(s));

export function leaseJson(l: Lease) {
  return {
    id: l.id, product: l.product, license: l.license, kind: l.kind, status: l.status, user: l.user, device: l.device,
    endpoint: l.endpoint, joinCode: l.joinCode, hold: l.hold, sessions: l.sessions, clientType: l.clientType,
    channel: l.channel, platform: l.platform, meta: l.meta, startedAt: iso(l.startedAt), endsAt: isoOrNull(l.endsAt),
    endedAt: isoOrNull(l.endedAt), endReason: l.endReason,
  };
}

export function userJson(u: User) {
  return { id: u.id, username: u.username, role: u.role, teams: u.teams, maxLeases: u.maxLeases, permissions: u.permissions, createdAt: iso(u.createdAt) };
}

export const teamJson = (t: Team) => ({ id: t.id, name: t.name, createdAt: iso(t.createdAt) });
export const apiKeyJson = (k: ApiKey) => ({ id: k.id, name: k.name, kind: k.kind, createdAt: iso(k.createdAt) });

export function productJson(p: Product) {
  return {
    id: p.id, key: p.key, name: p.name, seatModel: p.seatModel, heartbeat: p.heartbeat, clientTypes: p.clientTypes,
    linger: p.linger, standbyTimeout: p.standbyTimeout, flex: p.flex, activationWindow: p.activationWindow, quota: p.quota,
    quotaUsed: p.quotaUsed, createdAt: iso(p.createdAt),
  };
}

export function licenseJson(l: License) {
  return {
    id: l.id, product: l.product, seats: l.seats, name: l.name, team: l.team, platform: l.platform, overage: l.overage,
    startsAt: isoOrNull(l.startsAt), expiresAt: isoOrNull(l.expiresAt), enforcement: l.enforcement, window: l.window,
    exceptionQuota: l.exceptionQuota, inUse: l.inUse, exceptions: l.exceptions, suspended: l.suspendedAt !== null,
    suspendedAt: isoOrNull(l.suspendedAt), createdAt: iso(l.createdAt),
  };
}

export const endpointJson = (e: Endpoint) => ({ id: e.id, product: e.product, name: e.name, enabled: e.enabled, createdAt: iso(e.createdAt) });

export function settingsJson(a: Account) {
  return { timezone: a.timezone, ...a.settings };
}
