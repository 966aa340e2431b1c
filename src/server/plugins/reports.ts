import { Type } from 'typebox';
import { ApiError } from '../../errors.js';
import { requireAdmin } from '../auth.js';
import { authHook, pageOf, type RoutePlugin } from './common.js';
import { Iso, Nullable, PageQuery, pageOf as pageSchema } from '../schemas.js';
import { fromIso, iso, isoOrNull } from '../serialize.js';
import type { Ctx } from '../context.js';
import type { ReportRange } from '../../store/types.js';

const RangeQuery = Type.Object({
  ...PageQuery.properties,
  from: Type.Optional(Iso),
  to: Type.Optional(Iso),
  product: Type.Optional(Type.String({ maxLength: 100 })),
});

async function range(ctx: Ctx, accountId: string, q: { from?: string | undefined; to?: string | undefined; product?: string | undefined }): Promise<ReportRange> {
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
