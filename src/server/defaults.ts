import { DEFAULT_MEMBER_PERMISSIONS } from '../engine/permissions.js';
import { DEFAULT_HEARTBEAT } from '../engine/seat.js';
import type { AccountSettings, ProductConfig } from '../store/types.js';

/** SPEC.md's defaults; every one of them can be changed by an administrator. */
export function defaultSettings(): AccountSettings {
  return {
    dailyReset: '04:00',
    flexMax: 5,
    ppu: { enabled: false, balanceMinutes: 0, lowThreshold: 30 },
    permissions: { ...DEFAULT_MEMBER_PERMISSIONS },
    alertRecipients: '',
    alertCheckInterval: 600,
  };
}

export function defaultProductConfig(): ProductConfig {
  return {
    heartbeat: { ...DEFAULT_HEARTBEAT },
    clientTypes: {},
    linger: 0,
    standbyTimeout: null,
    flex: { channels: ['access'], duration: 1800 },
    activationWindow: 90 * 24 * 3600,
    quota: null,
  };
}
