import type { FastifyRequest } from 'fastify';
import { effectivePermissions, scopeAdmits } from '../engine/permissions.js';
import type { Permissions } from '../engine/types.js';
import { ApiError } from '../errors.js';
import type { Account, Endpoint, Lease, Store, User } from '../store/types.js';
import { hashToken } from './deps.js';

/** Who is calling. Every query below the routes is scoped to `accountId`. */
export type Principal =
  | { kind: 'user'; accountId: string; user: User; tokenHash: string }
  | { kind: 'admin' | 'service'; accountId: string; keyId: string }
  | { kind: 'endpoint'; accountId: string; endpoint: Endpoint };

export function bearer(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1]! : null;
}

export async function authenticate(store: Store, req: FastifyRequest, now: number): Promise<Principal> {
  const token = bearer(req);
  if (token === null) throw new ApiError('unauthorized', 'send Authorization: Bearer <token>');
  const hash = hashToken(token);
  const c = await store.findCredential(hash, now);
  if (!c) throw new ApiError('unauthorized', 'the token is unknown, revoked or expired');
  switch (c.kind) {
    case 'user': {
      const user = await store.getUser(c.accountId, c.subjectId);
      if (!user) throw new ApiError('unauthorized', 'the user no longer exists');
      return { kind: 'user', accountId: c.accountId, user, tokenHash: hash };
    }
    case 'admin':
    case 'service':
      return { kind: c.kind, accountId: c.accountId, keyId: c.subjectId };
    case 'endpoint': {
      const endpoint = await store.getEndpoint(c.accountId, c.subjectId);
      if (!endpoint) throw new ApiError('unauthorized', 'the endpoint no longer exists');
      return { kind: 'endpoint', accountId: c.accountId, endpoint };
    }
  }
}

/** Owners, admins and admin API keys manage the account. */
export function isAdmin(p: Principal): boolean {
  return p.kind === 'admin' || (p.kind === 'user' && p.user.role !== 'member');
}

export function requireAdmin(p: Principal): void {
  if (!isAdmin(p)) throw new ApiError('forbidden', 'this needs an owner, an admin or an admin API key');
}

/** Lease permissions of a caller: service and admin keys act for the whole account. */
export function leasePermissions(p: Principal, account: Account): Permissions {
  switch (p.kind) {
    case 'user':
      return effectivePermissions(p.user.role, account.settings.permissions, p.user.permissions);
    case 'admin':
    case 'service':
      return { view: 'domain', control: 'domain' };
    case 'endpoint':
      return { view: 'none', control: 'none' };
  }
}

export function selfId(p: Principal): string | null {
  return p.kind === 'user' ? p.user.id : null;
}

export function canView(p: Principal, perms: Permissions, lease: Lease): boolean {
  return scopeAdmits(perms.view, selfId(p), lease.user);
}

export function canControl(p: Principal, perms: Permissions, lease: Lease): boolean {
  return scopeAdmits(perms.control, selfId(p), lease.user);
}
