import { describe, expect, it } from 'vitest';
import { DEFAULT_MEMBER_PERMISSIONS, effectivePermissions, scopeAdmits } from '../../src/engine/permissions.js';
import type { Permissions, Role, Scope } from '../../src/engine/types.js';

const SCOPES: Scope[] = ['none', 'own', 'domain'];
const WIDTH: Record<Scope, number> = { none: 0, own: 1, domain: 2 };
const NONE: Permissions = { view: 'none', control: 'none' };

describe('effectivePermissions', () => {
  it.each<Role>(['owner', 'admin'])('%s has domain/domain whatever the account setting or override', (role) => {
    expect(effectivePermissions(role, NONE, null)).toEqual({ view: 'domain', control: 'domain' });
    expect(effectivePermissions(role, NONE, NONE)).toEqual({ view: 'domain', control: 'domain' });
    expect(effectivePermissions(role, { view: 'own', control: 'own' }, { view: 'own', control: 'none' })).toEqual({
      view: 'domain',
      control: 'domain',
    });
  });

  it('the member default is view domain, control own', () => {
    expect(DEFAULT_MEMBER_PERMISSIONS).toEqual({ view: 'domain', control: 'own' });
    expect(effectivePermissions('member', DEFAULT_MEMBER_PERMISSIONS, null)).toEqual({ view: 'domain', control: 'own' });
  });

  it('a member without override gets the account setting', () => {
    expect(effectivePermissions('member', { view: 'own', control: 'own' }, null)).toEqual({ view: 'own', control: 'own' });
    expect(effectivePermissions('member', NONE, null)).toEqual(NONE);
    expect(effectivePermissions('member', { view: 'domain', control: 'domain' }, null)).toEqual({
      view: 'domain',
      control: 'domain',
    });
  });

  it('a member’s override replaces the account setting, wider or narrower', () => {
    expect(effectivePermissions('member', DEFAULT_MEMBER_PERMISSIONS, { view: 'domain', control: 'domain' })).toEqual({
      view: 'domain',
      control: 'domain',
    });
    expect(effectivePermissions('member', DEFAULT_MEMBER_PERMISSIONS, NONE)).toEqual(NONE);
    expect(effectivePermissions('member', NONE, { view: 'own', control: 'own' })).toEqual({ view: 'own', control: 'own' });
  });

  it('control is clamped to view, for every combination (account setting and override alike)', () => {
    for (const view of SCOPES) {
      for (const control of SCOPES) {
        const expected: Permissions = { view, control: WIDTH[control] > WIDTH[view] ? view : control };
        expect(effectivePermissions('member', { view, control }, null)).toEqual(expected);
        expect(effectivePermissions('member', DEFAULT_MEMBER_PERMISSIONS, { view, control })).toEqual(expected);
      }
    }
  });

  it('spot checks of the clamp', () => {
    expect(effectivePermissions('member', { view: 'own', control: 'domain' }, null)).toEqual({ view: 'own', control: 'own' });
    expect(effectivePermissions('member', { view: 'none', control: 'domain' }, null)).toEqual(NONE);
    expect(effectivePermissions('member', { view: 'none', control: 'own' }, null)).toEqual(NONE);
    expect(effectivePermissions('member', { view: 'domain', control: 'none' }, null)).toEqual({ view: 'domain', control: 'none' });
  });

  it('does not mutate its inputs', () => {
    const account: Permissions = { view: 'own', control: 'domain' };
    const override: Permissions = { view: 'none', control: 'domain' };
    effectivePermissions('member', account, null);
    effectivePermissions('member', account, override);
    expect(account).toEqual({ view: 'own', control: 'domain' });
    expect(override).toEqual({ view: 'none', control: 'domain' });
  });
});

describe('scopeAdmits', () => {
  it('none admits nothing, not even one’s own lease', () => {
    expect(scopeAdmits('none', 'usr_1', 'usr_1')).toBe(false);
    expect(scopeAdmits('none', 'usr_1', 'usr_2')).toBe(false);
    expect(scopeAdmits('none', null, null)).toBe(false);
  });

  it('own admits only leases held by the actor', () => {
    expect(scopeAdmits('own', 'usr_1', 'usr_1')).toBe(true);
    expect(scopeAdmits('own', 'usr_1', 'usr_2')).toBe(false);
  });

  it('own never matches null user ids: anonymous leases belong to no one', () => {
    expect(scopeAdmits('own', null, null)).toBe(false);
    expect(scopeAdmits('own', 'usr_1', null)).toBe(false);
    expect(scopeAdmits('own', null, 'usr_1')).toBe(false);
  });

  it('domain admits every lease, including anonymous ones and for an anonymous actor', () => {
    expect(scopeAdmits('domain', 'usr_1', 'usr_2')).toBe(true);
    expect(scopeAdmits('domain', 'usr_1', null)).toBe(true);
    expect(scopeAdmits('domain', null, 'usr_2')).toBe(true);
    expect(scopeAdmits('domain', null, null)).toBe(true);
  });

  it('is monotonic: a wider scope admits whatever a narrower one does', () => {
    const actors = [null, 'usr_1', 'usr_2'];
    for (const self of actors) {
      for (const owner of actors) {
        if (scopeAdmits('none', self, owner)) expect(scopeAdmits('own', self, owner)).toBe(true);
        if (scopeAdmits('own', self, owner)) expect(scopeAdmits('domain', self, owner)).toBe(true);
      }
    }
  });
});
