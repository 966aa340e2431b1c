/** Row ↔ record mapping, shared by both dialects (0/1 booleans, JSON text, int8 as number). */
import type { Account, ApiKey, Endpoint, Lease, License, Product, Session, Team, User, LeaseEvent, PageOf, Page } from '../types.js';
import type { Row } from './driver.js';

export const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
export const str = (v: unknown): string => String(v);
export const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
export const json = <T>(v: unknown): T => JSON.parse(String(v)) as T;
export const jsonOrNull = <T>(v: unknown): T | null => (v === null || v === undefined ? null : json<T>(v));

export function toAccount(r: Row): Account {
  const settings = json<Account['settings']>(r.settings);
  // The balance lives in its own column (debited atomically); settings only mirror it.
  settings.ppu = { ...settings.ppu, lowThreshold: settings.ppu.lowThreshold ?? 30, balanceMinutes: num(r.ppu_balance ?? 0) };
  return { id: str(r.id), name: str(r.name), timezone: str(r.timezone), settings, createdAt: num(r.created_at) };
}

export function toUser(r: Row, teams: string[]): User {
  return {
    id: str(r.id),
    accountId: str(r.account_id),
    username: str(r.username),
    role: str(r.role) as User['role'],
    teams,
    maxLeases: numOrNull(r.max_leases),
    permissions: jsonOrNull(r.permissions),
    createdAt: num(r.created_at),
  };
}

export function toTeam(r: Row): Team {
  return { id: str(r.id), accountId: str(r.account_id), name: str(r.name), createdAt: num(r.created_at) };
}

export function toProduct(r: Row): Product {
  const config = json<Omit<Product, 'id' | 'accountId' | 'key' | 'name' | 'seatModel' | 'quotaUsed' | 'createdAt'>>(r.config);
  return {
    ...config,
    id: str(r.id),
    accountId: str(r.account_id),
    key: str(r.key),
    name: str(r.name),
    seatModel: str(r.seat_model) as Product['seatModel'],
    quotaUsed: num(r.quota_used ?? 0),
    createdAt: num(r.created_at),
  };
}

export function toLicense(r: Row): License {
  return {
    id: str(r.id),
    accountId: str(r.account_id),
    productId: str(r.product_id),
    product: str(r.product_key),
    name: strOrNull(r.name),
    seats: num(r.seats),
    team: strOrNull(r.team_id),
    platform: strOrNull(r.platform),
    overage: num(r.overage),
    startsAt: numOrNull(r.starts_at),
    expiresAt: numOrNull(r.expires_at),
    enforcement: str(r.enforcement) as License['enforcement'],
    window: num(r.win),
    exceptionQuota: numOrNull(r.exception_quota),
    exceptions: num(r.exceptions ?? 0),
    suspendedAt: numOrNull(r.suspended_at),
    inUse: num(r.in_use),
    createdAt: num(r.created_at),
  };
}

export function toEndpoint(r: Row): Endpoint {
  return {
    id: str(r.id),
    accountId: str(r.account_id),
    productId: str(r.product_id),
    product: str(r.product_key),
    name: str(r.name),
    enabled: num(r.enabled) === 1,
    createdAt: num(r.created_at),
  };
}

export function toApiKey(r: Row): ApiKey {
  return { id: str(r.id), accountId: str(r.account_id), name: str(r.name), kind: str(r.kind) as ApiKey['kind'], createdAt: num(r.created_at) };
}

export function toLease(r: Row): Lease {
  return {
    id: str(r.id),
    accountId: str(r.account_id),
    productId: str(r.product_id),
    product: str(r.product_key),
    license: strOrNull(r.license_id),
    kind: str(r.kind) as Lease['kind'],
    status: str(r.status) as Lease['status'],
    user: strOrNull(r.user_id),
    device: strOrNull(r.device),
    endpoint: strOrNull(r.endpoint_id),
    joinCode: str(r.join_code),
    hold: str(r.hold) as Lease['hold'],
    sessions: num(r.sessions),
    clientType: strOrNull(r.client_type),
    channel: strOrNull(r.channel),
    platform: strOrNull(r.platform),
    meta: jsonOrNull(r.meta),
    startedAt: num(r.started_at),
    endsAt: numOrNull(r.ends_at),
    endedAt: numOrNull(r.ended_at),
    endReason: strOrNull(r.end_reason) as Lease['endReason'],
  };
}

export function toSession(r: Row): Session {
  return {
    id: str(r.id),
    leaseId: str(r.lease_id),
    accountId: str(r.account_id),
    tokenHash: str(r.token_hash),
    clientType: strOrNull(r.client_type),
    interval: num(r.hb_interval),
    timeout: num(r.hb_timeout),
    startedAt: num(r.started_at),
    endedAt: numOrNull(r.ended_at),
    endReason: strOrNull(r.end_reason),
  };
}

export function toEvent(r: Row): LeaseEvent {
  return { seq: num(r.seq), accountId: str(r.account_id), leaseId: str(r.lease_id), type: str(r.type), data: json(r.data), at: num(r.at) };
}

/** Keyset pagination on the (time-sortable) id: fetch one more row to know if there is a next page. */
export function paged<T extends { id: string }>(rows: T[], page: Page): PageOf<T> {
  if (rows.length <= page.limit) return { items: rows, next: null };
  const items = rows.slice(0, page.limit);
  return { items, next: items[items.length - 1]?.id ?? null };
}

export const LEASE_COLUMNS = `l.*, p.key AS product_key`;
export const LEASE_FROM = `leases l JOIN products p ON p.id = l.product_id`;
