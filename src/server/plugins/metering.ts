import { Type } from 'typebox';
import { percentOf, quotaLimit } from '../../engine/metering.js';
import { ApiError } from '../../errors.js';
import { leasePermissions, requireAdmin, type Principal } from '../auth.js';
import { authHook, found, pageOf, type RoutePlugin } from './common.js';
import { IdParams, Iso, LicenseSchema, PageQuery, ProductSchema, pageOf as pageSchema } from '../schemas.js';
import { iso, licenseJson, productJson } from '../serialize.js';
import type { Ctx } from '../context.js';
import type { Product } from '../../store/types.js';

const Key = Type.String({ minLength: 1, maxLength: 100 });

async function productOf(ctx: Ctx, p: Principal, key: string): Promise<Product> {
  const product = await ctx.store.getProductByKey(p.accountId, key);
  if (!product) throw new ApiError('bad-request', `unknown product ${key}`, { field: 'product' });
  // An endpoint key belongs to one product and reports only for it.
  if (p.kind === 'endpoint' && p.endpoint.productId !== product.id) throw new ApiError('forbidden', `this endpoint key is for ${p.endpoint.product}, not ${key}`);
  return product;
}

/**
 * Counting that is not seats held now (SPEC §6, docs/metering.md): usage units against a
 * quota, activated devices, and the exception record of soft licenses.
 */
export const meteringRoutes: RoutePlugin = async (app, { ctx }) => {
  app.addHook('preHandler', authHook(ctx));
  const tags = ['metering'];

  app.post(
    '/usage',
    {
      schema: {
        tags,
        summary: 'Report units used of a metered product (idempotent with an Idempotency-Key header)',
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }),
        body: Type.Object(
          { product: Key, units: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }), device: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ product: Type.String(), used: Type.Integer(), quota: Type.Number(), limit: Type.Integer(), percent: Type.Number(), warning: Type.Boolean(), replayed: Type.Boolean() }),
        },
      },
    },
    async (req) => {
      const p = req.principal;
      const product = await productOf(ctx, p, req.body.product);
      const key = req.headers['idempotency-key'] ?? null;
      const r = await ctx.store.recordUnits(
        { accountId: p.accountId, productId: product.id, units: req.body.units, device: req.body.device ?? null, idempotencyKey: key },
        ctx.clock.now(),
      );
      switch (r.kind) {
        case 'no-quota':
          throw new ApiError('bad-request', `${product.key} has no usage quota`, { field: 'product' });
        case 'key-reused':
          throw new ApiError('conflict', 'this Idempotency-Key was used for another report (product or units differ)');
        case 'exhausted':
          ctx.service.recordRefusal(p, product.id, 'quota-exhausted', req.body.device ?? null);
          throw new ApiError('quota-exhausted', `${product.key} has used ${r.used} of its ${r.quota.units} units; ${req.body.units} more would pass the limit of ${quotaLimit(r.quota)}`, {
            product: product.key, used: r.used, quota: r.quota.units, limit: quotaLimit(r.quota),
          });
        default: {
          const percent = percentOf(r.used, r.quota.units);
          return { product: product.key, used: r.used, quota: r.quota.units, limit: quotaLimit(r.quota), percent, warning: percent >= 100, replayed: r.kind === 'replayed' };
        }
      }
    },
  );

  app.get(
    '/devices',
    {
      schema: {
        tags,
        summary: 'Activated devices (device seat model), each holding a seat until activeUntil',
        querystring: Type.Object({ ...PageQuery.properties, product: Type.Optional(Key) }),
        response: {
          200: pageSchema(Type.Object({ device: Type.String(), product: Type.String(), license: Type.String(), kind: Type.String(), firstSeen: Iso, lastSeen: Iso, activeUntil: Iso })),
        },
      },
    },
    async (req) => {
      const p = req.principal;
      if (p.kind === 'endpoint') throw new ApiError('forbidden', 'endpoint keys cannot list devices');
      const account = found(await ctx.store.getAccount(p.accountId), 'account');
      if (leasePermissions(p, account).view !== 'domain') throw new ApiError('forbidden', 'listing devices needs view permission over the whole account');
      const productId = req.query.product === undefined ? null : (await productOf(ctx, p, req.query.product)).id;
      const page = await ctx.store.listDevices(p.accountId, productId, pageOf(req.query));
      return {
        items: page.items.map((d) => ({ device: d.device, product: d.product, license: d.license, kind: d.kind, firstSeen: iso(d.firstSeen), lastSeen: iso(d.lastSeen), activeUntil: iso(d.activeUntil) })),
        next: page.next,
      };
    },
  );

  app.post(
    '/products/:id/quota/reset',
    { schema: { tags, summary: 'Set a metered product’s unit counter back to 0', params: IdParams, response: { 200: ProductSchema } } },
    async (req) => {
      requireAdmin(req.principal);
      const { accountId } = req.principal;
      const cur = found((await ctx.store.getProduct(accountId, req.params.id)) ?? (await ctx.store.getProductByKey(accountId, req.params.id)), 'product');
      return productJson(found(await ctx.store.resetUnits(accountId, cur.id), 'product'));
    },
  );

  app.get(
    '/licenses/:id/exceptions',
    {
      schema: {
        tags, summary: 'Windows in which a soft license had more active devices than seats', params: IdParams, querystring: PageQuery,
        response: { 200: pageSchema(Type.Object({ from: Iso, to: Iso, active: Type.Integer(), seats: Type.Integer() })) },
      },
    },
    async (req) => {
      requireAdmin(req.principal);
      const page = found(await ctx.store.listSoftExceptions(req.principal.accountId, req.params.id, pageOf(req.query)), 'license');
      return { items: page.items.map((x) => ({ from: iso(x.from), to: iso(x.to), active: x.active, seats: x.seats })), next: page.next };
    },
  );

  app.post(
    '/licenses/:id/exceptions/reset',
    { schema: { tags, summary: 'Set a soft license’s exception count to 0 (lifts a suspension)', params: IdParams, response: { 200: LicenseSchema } } },
    async (req) => {
      requireAdmin(req.principal);
      const l = found(await ctx.store.resetExceptions(req.principal.accountId, req.params.id, ctx.clock.now()), 'license');
      ctx.service.publish(l.events);
      return licenseJson(l);
    },
  );
};
