import { Type } from 'typebox';
import { isValidTimeZone } from '../../engine/daily-reset.js';
import { ApiError } from '../../errors.js';
import { requireAdmin } from '../auth.js';
import { authHook, found, type RoutePlugin } from './common.js';
import { SettingsPatch, SettingsSchema } from '../schemas.js';
import { settingsJson } from '../serialize.js';

/** One address of the semicolon-separated recipient list: a plain addr-spec, no display name. */
const EMAIL = /^[^\s@;,<>"]+@[^\s@;,<>"]+\.[^\s@;,<>"]+$/;

export const settingsRoutes: RoutePlugin = async (app, { ctx }) => {
  app.addHook('preHandler', authHook(ctx));

  app.get('/settings', { schema: { tags: ['set-up'], summary: 'Account settings', response: { 200: SettingsSchema } } }, async (req) => {
    requireAdmin(req.principal);
    return settingsJson(found(await ctx.store.getAccount(req.principal.accountId), 'account'));
  });

  app.patch('/settings', { schema: { tags: ['set-up'], summary: 'Change account settings', body: SettingsPatch, response: { 200: SettingsSchema } } }, async (req) => {
    requireAdmin(req.principal);
    const b = req.body;
    if (b.timezone !== undefined && !isValidTimeZone(b.timezone)) throw new ApiError('bad-request', `unknown time zone ${b.timezone}`, { field: 'timezone' });
    if (b.alertRecipients !== undefined) {
      const bad = b.alertRecipients.split(';').map((a) => a.trim()).filter((a) => a !== '' && !EMAIL.test(a));
      if (bad.length > 0) throw new ApiError('bad-request', `not an e-mail address: ${bad.join(', ')} (separate addresses with ";")`, { field: 'alertRecipients' });
    }
    const cur = found(await ctx.store.getAccount(req.principal.accountId), 'account');
    const settings = {
      ...cur.settings,
      ...(b.dailyReset !== undefined && { dailyReset: b.dailyReset }),
      ...(b.flexMax !== undefined && { flexMax: b.flexMax }),
      ...(b.permissions !== undefined && { permissions: b.permissions }),
      ...(b.alertRecipients !== undefined && { alertRecipients: b.alertRecipients }),
      ...(b.alertCheckInterval !== undefined && { alertCheckInterval: b.alertCheckInterval }),
      // The balance changes only through top-ups and debits, never by a settings write.
      ppu: {
        ...cur.settings.ppu,
        ...(b.ppu?.enabled !== undefined && { enabled: b.ppu.enabled }),
        ...(b.ppu?.lowThreshold !== undefined && { lowThreshold: b.ppu.lowThreshold }),
      },
    };
    const next = await ctx.store.updateAccount(cur.id, { timezone: b.timezone ?? cur.timezone, settings });
    if (next.timezone !== cur.timezone || settings.dailyReset !== cur.settings.dailyReset) {
      await ctx.store.retimeDailyResets(cur.id, ctx.clock.now());
    }
    return settingsJson(next);
  });

  app.post(
    '/ppu/topup',
    {
      schema: {
        tags: ['set-up'],
        summary: 'Add pay-per-use minutes',
        body: Type.Object({ minutes: Type.Integer({ minimum: 1, maximum: 100_000_000 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ balanceMinutes: Type.Integer() }) },
      },
    },
    async (req) => {
      requireAdmin(req.principal);
      const balanceMinutes = found(await ctx.store.topUpPpu(req.principal.accountId, req.body.minutes), 'account');
      // A top-up lifts pending pay-per-use ends without an event.
      ctx.service.invalidateLeases();
      return { balanceMinutes };
    },
  );
};
