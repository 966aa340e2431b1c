import { Type } from 'typebox';
import { ApiError } from '../../errors.js';
import { requireAdmin } from '../auth.js';
import { authHook, pageOf, type RoutePlugin } from './common.js';
import { Iso, Nullable, PageQuery, pageOf as pageSchema } from '../schemas.js';
import { fromIso, iso, isoOrNull } from '../serialize.js';
import type { Ctx } from '../context.js';
import type { Lease, PageOf, ReportRange } from '../../store/types.js';
import { leaseJson } from '../serialize.js';

const CSV_COLUMNS = ['id', 'product', 'license', 'kind', 'status', 'user', 'device', 'endpoint', 'clientType', 'channel', 'platform', 'startedAt', 'endedAt', 'durationSeconds', 'endReason'];

/** RFC 4180 cell; a leading =, +, - or @ is prefixed so spreadsheets do not run it as a formula. */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = String(v);
  if (/^[=+\-@]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const RangeQuery = Type.Object({
  ...PageQuery.properties,
  from: Type.Optional(Iso),
  to: Type.Optional(Iso),
  product: Type.Optional(Type.String({ maxLength: 100 })),
});

export async function range(ctx: Ctx, accountId: string, q: { from?: string | undefined; to?: string | undefined; product?: string | undefined }): Promise<ReportRange> {
  const r: ReportRange = { from: fromIso(q.from), to: fromIso(q.to) };
  if (q.product !== undefined) {
    const p = await ctx.store.getProductByKey(accountId, q.product);
    if (!p) throw new ApiError('bad-request', `unknown product ${q.product}`, { field: 'product' });
    r.productId = p.id;
  }
  return r;
}

/** Refusals and full-capacity history (pixi's Control Center > Tools; SPEC §4, §7). */
export const reportRoutes: RoutePlugin = async (app, { ctx }) => {
  app.addHook('preHandler', authHook(ctx));
  app.addHook('preHandler', async (req) => requireAdmin(req.principal));
  const tags = ['reports'];

  app.get(
    '/reports/denials',
    {
      schema: {
        tags, summary: 'Every refused request: who, device, product, code, when', querystring: RangeQuery,
        response: { 200: pageSchema(Type.Object({ at: Iso, user: Nullable(Type.String()), device: Nullable(Type.String()), product: Type.String(), code: Type.String() })) },
      },
    },
    async (req) => {
      const page = await ctx.store.listDenials(req.principal.accountId, await range(ctx, req.principal.accountId, req.query), pageOf(req.query));
      return { items: page.items.map((d) => ({ at: iso(d.at), user: d.user, device: d.device, product: d.product, code: d.code })), next: page.next };
    },
  );

  app.get(
    '/reports/active-logins',
    {
      schema: {
        tags, summary: 'Who is logged in now: user, device, product, since, sessions (pixi\'s pixiReportActiveLogins)', querystring: PageQuery,
        response: { 200: pageSchema(Type.Object({ user: Type.String(), username: Nullable(Type.String()), device: Nullable(Type.String()), product: Type.String(), since: Iso, sessions: Type.Integer() })) },
      },
    },
    async (req) => {
      const page = await ctx.store.activeLogins(req.principal.accountId, pageOf(req.query));
      return { items: page.items.map((a) => ({ user: a.user, username: a.username, device: a.device, product: a.product, since: iso(a.since), sessions: a.sessions })), next: page.next };
    },
  );

  app.get(
    '/reports/leases',
    {
      schema: {
        tags, summary: 'Session history: leases live during [from, to), with durations and end reasons; Accept: text/csv for CSV (all pages)',
        querystring: RangeQuery,
      },
    },
    async (req, reply) => {
      const r = await range(ctx, req.principal.accountId, req.query);
      const now = ctx.clock.now();
      const row = (l: Lease) => ({
        ...leaseJson(l),
        durationSeconds: Math.round(((l.endedAt ?? now) - l.startedAt) / 1000),
      });
      if (/text\/csv/.test(req.headers.accept ?? '')) {
        const lines = [CSV_COLUMNS.join(',')];
        let cursor: string | null = null;
        do {
          const page: PageOf<Lease> = await ctx.store.leaseHistory(req.principal.accountId, r, { limit: 1000, cursor });
          for (const l of page.items) {
            const o: Record<string, unknown> = row(l);
            lines.push(CSV_COLUMNS.map((c) => csvCell(o[c])).join(','));
          }
          cursor = page.next;
        } while (cursor !== null);
        return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="seatkeeper-leases.csv"').send(`${lines.join('\r\n')}\r\n`);
      }
      const page = await ctx.store.leaseHistory(req.principal.accountId, r, pageOf(req.query));
      return { items: page.items.map(row), next: page.next };
    },
  );

  app.get(
    '/reports/usage',
    {
      schema: {
        tags, summary: 'Seats in use over time per bucket (highest and average), from per-minute samples',
        querystring: Type.Object({
          product: Type.String({ maxLength: 100 }),
          from: Type.Optional(Iso),
          to: Type.Optional(Iso),
          bucket: Type.Optional(Type.Integer({ minimum: 60, maximum: 31_536_000, default: 3600 })),
        }),
        response: { 200: pageSchema(Type.Object({ t: Iso, peak: Type.Integer(), avg: Type.Number() })) },
      },
    },
    async (req) => {
      const r = await range(ctx, req.principal.accountId, req.query);
      const now = ctx.clock.now();
      const to = r.to ?? now;
      const from = r.from ?? to - 24 * 3600_000;
      const bucket = (req.query.bucket ?? 3600) * 1000;
      if (bucket % 60_000 !== 0) throw new ApiError('bad-request', 'bucket must be a whole number of minutes', { field: 'bucket' });
      const points = await ctx.store.usageSeries(r.productId!, from, to, bucket);
      return { items: points.map((p) => ({ t: iso(p.t), peak: p.peak, avg: Math.round(p.avg * 100) / 100 })), next: null };
    },
  );

  app.get(
    '/audit',
    {
      schema: {
        tags: ['audit'], summary: 'Administrative changes: who, when, what (newest first)', querystring: PageQuery,
        response: { 200: pageSchema(Type.Object({ at: Iso, actor: Type.String(), action: Type.String(), target: Nullable(Type.String()), detail: Type.Object({}, { additionalProperties: true }) })) },
      },
    },
    async (req) => {
      const page = await ctx.store.listAudit(req.principal.accountId, pageOf(req.query));
      return { items: page.items.map((a) => ({ at: iso(a.at), actor: a.actor, action: a.action, target: a.target, detail: a.detail })), next: page.next };
    },
  );

  app.get(
    '/reports/max-reached',
    {
      schema: {
        tags, summary: 'Intervals during which a product had no free seat (to = null: still full)', querystring: RangeQuery,
        response: { 200: pageSchema(Type.Object({ product: Type.String(), from: Iso, to: Nullable(Iso) })) },
      },
    },
    async (req) => {
      const page = await ctx.store.listMaxReached(req.principal.accountId, await range(ctx, req.principal.accountId, req.query), pageOf(req.query));
      return { items: page.items.map((m) => ({ product: m.product, from: iso(m.from), to: isoOrNull(m.to) })), next: page.next };
    },
  );
};
