import type { Permissions, Role, Scope } from './types.js';

const WIDTH: Record<Scope, number> = { none: 0, own: 1, domain: 2 };

export const DEFAULT_MEMBER_PERMISSIONS: Permissions = { view: 'domain', control: 'own' };

/**
 * A user's effective permissions (SPEC §1, seed 001): owners and admins see and control the
 * whole account; members get their per-user override, else the account's setting. `control`
 * is clamped to `view`: you cannot end what you cannot see.
 */
export function effectivePermissions(role: Role, account: Permissions, override: Permissions | null): Permissions {
  if (role !== 'member') return { view: 'domain', control: 'domain' };
  const p = override ?? account;
  return { view: p.view, control: WIDTH[p.control] > WIDTH[p.view] ? p.view : p.control };
}

/** Whether a scope admits a lease held by `owner` for actor `self`. */
export function scopeAdmits(scope: Scope, self: string | null, owner: string | null): boolean {
  if (scope === 'domain') return true;
  if (scope === 'own') return self !== null && owner === self;
  return false;
}
