/**
 * Domain vocabulary shared by the engine, the store and the server (SPEC.md §1–3).
 * Times are epoch milliseconds inside the system; durations in configuration are seconds,
 * as in the API.
 */
export type SeatModel = 'session' | 'user-device' | 'user' | 'device';
export type LeaseKind = 'regular' | 'overage' | 'flex' | 'ppu';
export type LeaseStatus = 'active' | 'standby' | 'paused' | 'terminating' | 'ended';
export type EndReason =
  | 'released'
  | 'expired'
  | 'terminated'
  | 'daily-reset'
  | 'flex-ended'
  | 'ppu-exhausted'
  | 'license-ended'
  | 'license-suspended';
export type Hold = 'heartbeat' | 'until-reset';
export type Role = 'owner' | 'admin' | 'member';
export type Scope = 'none' | 'own' | 'domain';
export type Enforcement = 'hard' | 'soft';

/** Seconds. */
export interface HeartbeatPolicy {
  interval: number;
  timeout: number;
}

export interface Permissions {
  view: Scope;
  control: Scope;
}

export const SEAT_MODELS: readonly SeatModel[] = ['session', 'user-device', 'user', 'device'];
export const END_REASONS: readonly EndReason[] = [
  'released',
  'expired',
  'terminated',
  'daily-reset',
  'flex-ended',
  'ppu-exhausted',
  'license-ended',
  'license-suspended',
];
