/** The API's JSON shapes the console reads (API.md); fields a newer server adds are ignored. */
export type Scope = 'none' | 'own' | 'domain';
export interface Permissions {
  view: Scope;
  control: Scope;
}
export type Role = 'owner' | 'admin' | 'member';

export interface User {
  id: string;
  username: string;
  role: Role;
  teams: string[];
  maxLeases: number | null;
  permissions: Permissions | null;
  createdAt: string;
}

export interface Team {
  id: string;
  name: string;
  createdAt: string;
}

export interface ApiKey {
  id: string;
  name: string;
  kind: 'admin' | 'service';
  createdAt: string;
  secret?: string;
}

export type SeatModel = 'session' | 'user-device' | 'user' | 'device';
export interface Heartbeat {
  interval: number;
  timeout: number;
}
export interface Product {
  id: string;
  key: string;
  name: string;
  seatModel: SeatModel;
  heartbeat: Heartbeat;
  clientTypes: Record<string, Heartbeat>;
  linger: number;
  standbyTimeout: number | null;
  flex: { channels: string[]; duration: number };
  activationWindow: number;
  quota: { units: number; overage: number } | null;
  /** Units counted against `quota` (metered products; SPEC §6). */
  quotaUsed?: number;
  createdAt: string;
}

export interface License {
  id: string;
  product: string;
  seats: number;
  name: string | null;
  team: string | null;
  platform: string | null;
  overage: number;
  startsAt: string | null;
  expiresAt: string | null;
  enforcement: 'hard' | 'soft';
  window: number;
  exceptionQuota: number | null;
  inUse: number;
  /** Soft licenses (SPEC §6): windows with more active than seats, and the suspension they cause. */
  exceptions?: number;
  suspended?: boolean;
  suspendedAt?: string | null;
  createdAt: string;
}

/** One window of a soft license in which more were active than its seats. */
export interface SoftException {
  from: string;
  to: string;
  active: number;
  seats: number;
}

/** A device holding a seat of a `device` product for its activation window. */
export interface DeviceActivation {
  device: string;
  product: string;
  license: string | null;
  kind: 'regular' | 'overage';
  firstSeen: string;
  lastSeen: string;
  activeUntil: string;
}

export interface Endpoint {
  id: string;
  product: string;
  name: string;
  enabled: boolean;
  createdAt: string;
  key?: string;
  displayUrl?: string;
}

export interface Settings {
  timezone: string;
  dailyReset: string;
  flexMax: number;
  ppu: { enabled: boolean; balanceMinutes: number; lowThreshold?: number };
  permissions: Permissions;
  alertRecipients: string;
  alertCheckInterval: number;
}

export type LeaseStatus = 'active' | 'standby' | 'paused' | 'terminating' | 'ended';
export type LeaseKind = 'regular' | 'overage' | 'flex' | 'ppu';
export interface Lease {
  id: string;
  product: string;
  license: string | null;
  kind: LeaseKind;
  status: LeaseStatus;
  user: string | null;
  device: string | null;
  endpoint: string | null;
  joinCode: string;
  hold: string;
  sessions: number;
  clientType?: string | null;
  channel?: string | null;
  platform?: string | null;
  startedAt: string;
  endsAt: string | null;
  endedAt: string | null;
  endReason: string | null;
  /** Session history rows (GET /v1/reports/leases) carry the lease's length. */
  durationSeconds?: number;
}

export interface LicenseUsage {
  id: string;
  name: string | null;
  team: string | null;
  platform: string | null;
  seats: number;
  inUse: number;
}
export interface ProductUsage {
  product: string;
  capacity: number;
  inUse: number;
  free: number;
  overage: number;
  flex: { inUse: number; max: number };
  ppu: { inUse: number; balanceMinutes: number };
  queued: number;
  paused: number;
  standby: number;
  peakToday: number;
  licenses: LicenseUsage[];
  /** Metered products only: units counted of the quota, and the most ever counted. */
  units?: { used: number; quota: number; limit: number };
}
export interface Usage {
  products: ProductUsage[];
}

export interface Denial {
  at: string;
  user: string | null;
  device: string | null;
  product: string;
  code: string;
}
export interface MaxReached {
  product: string;
  from: string;
  to: string | null;
}
export interface UsagePoint {
  t: string;
  peak: number;
  avg: number;
}
export interface ActiveLogin {
  user: string | null;
  username?: string | null;
  device: string | null;
  product: string;
  since: string;
  sessions: number;
}

export interface Page<T> {
  items: T[];
  next: string | null;
}

export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  target: string | null;
  detail: Record<string, unknown>;
}

export type AlertKind = 'devices' | 'usage' | 'soft-exceptions' | 'seats';
export interface AlertRule {
  id: string;
  kind: AlertKind;
  description: string;
  thresholds: number[];
  enabled: boolean;
}
export interface Alert {
  id: string;
  at: string;
  /** null for `usage` alerts, which belong to the product. */
  license: string | null;
  product: string;
  kind: AlertKind;
  threshold: number;
  value: number;
}

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  createdAt?: string;
  /** Only in the answer that created it. */
  secret?: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';
/** One message of the outbox: an e-mail, or one event to one webhook. */
export interface Delivery {
  id: string;
  type: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
}
