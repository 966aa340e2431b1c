import type { User } from './types.js';

/**
 * The login kept for this browser tab: sessionStorage, so closing the tab forgets the token
 * and another tab logs in on its own. The server revokes it on logout.
 */
export interface Login {
  token: string;
  user: User;
  account: string;
  expiresAt: string | null;
}

const KEY = 'seatkeeper.login';

export function loadLogin(): Login | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const l = JSON.parse(raw) as Partial<Login>;
    if (typeof l.token !== 'string' || typeof l.account !== 'string' || !l.user) return null;
    if (l.expiresAt && Date.parse(l.expiresAt) <= Date.now()) return null;
    return { token: l.token, user: l.user, account: l.account, expiresAt: l.expiresAt ?? null };
  } catch {
    return null;
  }
}

export function saveLogin(l: Login): void {
  sessionStorage.setItem(KEY, JSON.stringify(l));
}

export function clearLogin(): void {
  sessionStorage.removeItem(KEY);
}

export const isAdminRole = (u: User): boolean => u.role === 'owner' || u.role === 'admin';
