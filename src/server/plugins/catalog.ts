import { Type } from 'typebox';
import { ApiError } from '../../errors.js';
import { requireAdmin } from '../auth.js';
import { DEVICE_OVERAGE_DEFAULT } from '../../engine/metering.js';
import { authHook, found, pageOf, type RoutePlugin } from './common.js';
import { hashToken, newId, newSecret } from '../deps.js';
import { defaultProductConfig } from '../defaults.js';
import {
  EndpointCreate, EndpointPatch, EndpointSchema, IdParams, LicenseCreate, LicensePatch, LicenseSchema, PageQuery,
  ProductCreate, ProductPatch, ProductSchema, pageOf as pageSchema,
} from '../schemas.js';
import { endpointJson, fromIso, licenseJson, productJson } from '../serialize.js';
import type { Ctx } from '../context.js';
import type { HeartbeatPolicy } from '../../engine/types.js';
import type { License, Product } from '../../store/types.js';

function checkHeartbeat(name: string, p: HeartbeatPolicy): void {
  if (p.timeout < p.interval) throw new ApiError('bad-request', `${name}: timeout must be at least the interval`, { field: name });
}

function checkDates(l: Pick<License, 'startsAt' | 'expiresAt'>): void {
  if (l.startsAt !== null && l.expiresAt !== null && l.expiresAt <= l.startsAt) {
    throw new ApiError('bad-request', 'expiresAt must be after startsAt', { field: 'expiresAt' });
  }
}

/** A product in a path is its id or its key. */
async function productByRef(ctx: Ctx, accountId: string, ref: string): Promise<Product | undefined> {
  return (await ctx.store.getProduct(accountId, ref)) ?? (await ctx.store.getProductByKey(accountId, ref));
}

async function productKeyToId(ctx: Ctx, accountId: string, key: string): Promise<string> {
  const p = await ctx.store.getProductByKey(accountId, key);
  if (!p) throw new ApiError('bad-request', `unknown product ${key}`, { field: 'product' });
  return p.id;
}

export const catalogRoutes: RoutePlugin = async (app, { ctx }) => {
  app.addHook('preHandler', authHook(ctx));
  app.addHook('preHandler', async (req) => requireAdmin(req.principal));
  const tags = ['set-up'];

  // ── products ────────────────────────────────────────────────────────────────────────
  app.get('/products', { schema: { tags, querystring: PageQuery, response: { 200: pageSchema(ProductSchema) } } }, async (req) => {
    const page = await ctx.store.listProducts(req.principal.accountId, pageOf(req.query));
    return { items: page.items.map(productJson), next: page.next };
  });
  app.post('/products', { schema: { tags, body: ProductCreate, response: { 201: ProductSchema } } }, async (req, reply) => {
    const b = req.body;
    const p = { ...defaultProductConfig(), seatModel: 'session' as const, ...b, name: b.name ?? b.key };
    checkHeartbeat('heartbeat', p.heartbeat);
    for (const [k, v] of Object.entries(p.clientTypes)) checkHeartbeat(`clientTypes.${k}`, v);
    const now = ctx.clock.now();
    return reply.code(201).send(productJson(await ctx.store.createProduct(req.principal.accountId, newId('prd', now), p, now)));
  });
  app.get('/products/:id', { schema: { tags, params: IdParams, response: { 200: ProductSchema } } }, async (req) =>
    productJson(found(await productByRef(ctx, req.principal.accountId, req.params.id), 'product')),
  );
  app.patch('/products/:id', { schema: { tags, params: IdParams, body: ProductPatch, response: { 200: ProductSchema } } }, async (req) => {
    const cur = found(await productByRef(ctx, req.principal.accountId, req.params.id), 'product');
    const next = { ...cur, ...req.body };
    checkHeartbeat('heartbeat', next.heartbeat);
    for (const [k, v] of Object.entries(next.clientTypes)) checkHeartbeat(`clientTypes.${k}`, v);
    return productJson(found(await ctx.store.updateProduct(req.principal.accountId, cur.id, req.body), 'product'));
  });
  app.delete('/products/:id', { schema: { tags, params: IdParams } }, async (req, reply) => {
    const cur = found(await productByRef(ctx, req.principal.accountId, req.params.id), 'product');
    await ctx.store.deleteProduct(req.principal.accountId, cur.id);
    return reply.code(204).send();
  });

  // ── licenses ────────────────────────────────────────────────────────────────────────
  const LicenseQuery = Type.Object({ ...PageQuery.properties, product: Type.Optional(Type.String({ maxLength: 100 })) });
  app.get('/licenses', { schema: { tags, querystring: LicenseQuery, response: { 200: pageSchema(LicenseSchema) } } }, async (req) => {
    const productId = req.query.product === undefined ? undefined : await productKeyToId(ctx, req.principal.accountId, req.query.product);
    const page = await ctx.store.listLicenses(req.principal.accountId, pageOf(req.query), productId);
    return { items: page.items.map(licenseJson), next: page.next };
  });
  app.post('/licenses', { schema: { tags, body: LicenseCreate, response: { 201: LicenseSchema } } }, async (req, reply) => {
    const b = req.body;
    const product = await ctx.store.getProductByKey(req.principal.accountId, b.product);
    if (!product) throw new ApiError('bad-request', `unknown product ${b.product}`, { field: 'product' });
    const input = {
      productId: product.id,
      seats: b.seats,
      name: b.name ?? null,
      team: b.team ?? null,
      platform: b.platform ?? null,
      // Seed 004: a device license lets 10 % more new devices in before it refuses them.
      overage: b.overage ?? (product.seatModel === 'device' ? DEVICE_OVERAGE_DEFAULT : 0),
      startsAt: fromIso(b.startsAt),
      expiresAt: fromIso(b.expiresAt),
      enforcement: b.enforcement ?? 'hard',
      window: b.window ?? 180,
      exceptionQuota: b.exceptionQuota ?? null,
    };
    checkDates(input);
    const now = ctx.clock.now();
    const created = await ctx.store.createLicense(req.principal.accountId, newId('lic', now), input, now);
    ctx.service.publish(created.events);
    return reply.code(201).send(licenseJson(created));
  });
  app.get('/licenses/:id', { schema: { tags, params: IdParams, response: { 200: LicenseSchema } } }, async (req) =>
    licenseJson(found(await ctx.store.getLicense(req.principal.accountId, req.params.id), 'license')),
  );
  app.patch('/licenses/:id', { schema: { tags, params: IdParams, body: LicensePatch, response: { 200: LicenseSchema } } }, async (req) => {
    const cur = found(await ctx.store.getLicense(req.principal.accountId, req.params.id), 'license');
    const { product, startsAt, expiresAt, ...rest } = req.body;
    if (product !== undefined && product !== cur.product) throw new ApiError('bad-request', 'a license cannot move to another product', { field: 'product' });
    const patch = {
      ...rest,
      ...(startsAt !== undefined && { startsAt: fromIso(startsAt) }),
      ...(expiresAt !== undefined && { expiresAt: fromIso(expiresAt) }),
    };
    checkDates({ ...cur, ...patch });
    const updated = found(await ctx.store.updateLicense(req.principal.accountId, cur.id, patch, ctx.clock.now()), 'license');
    ctx.service.publish(updated.events);
    return licenseJson(updated);
  });
  app.delete('/licenses/:id', { schema: { tags, summary: 'Delete a license; its leases end (license-ended)', params: IdParams } }, async (req, reply) => {
    const r = await ctx.store.deleteLicense(req.principal.accountId, req.params.id, ctx.clock.now());
    found(r.deleted, 'license');
    ctx.service.publish(r.events);
    return reply.code(204).send();
  });

  // ── endpoints ───────────────────────────────────────────────────────────────────────
  const displayUrl = (key: string) => `${ctx.config.publicUrl}/display/${key}`;
  app.get('/endpoints', { schema: { tags, querystring: PageQuery, response: { 200: pageSchema(EndpointSchema) } } }, async (req) => {
    const page = await ctx.store.listEndpoints(req.principal.accountId, pageOf(req.query));
    return { items: page.items.map(endpointJson), next: page.next };
  });
  app.post('/endpoints', { schema: { tags, summary: 'Create an endpoint; its key is shown once', body: EndpointCreate, response: { 201: EndpointSchema } } }, async (req, reply) => {
    const now = ctx.clock.now();
    const key = newSecret('ske');
    const e = await ctx.store.createEndpoint(
      req.principal.accountId,
      newId('end', now),
      { productId: await productKeyToId(ctx, req.principal.accountId, req.body.product), name: req.body.name, enabled: req.body.enabled ?? true },
      hashToken(key),
      now,
    );
    return reply.code(201).send({ ...endpointJson(e), key, displayUrl: displayUrl(key) });
  });
  app.get('/endpoints/:id', { schema: { tags, params: IdParams, response: { 200: EndpointSchema } } }, async (req) =>
    endpointJson(found(await ctx.store.getEndpoint(req.principal.accountId, req.params.id), 'endpoint')),
  );
  app.patch('/endpoints/:id', { schema: { tags, summary: 'Rename, enable or disable (running sessions end after a 30 s notice)', params: IdParams, body: EndpointPatch, response: { 200: EndpointSchema } } }, async (req) => {
    const e = found(await ctx.store.updateEndpoint(req.principal.accountId, req.params.id, req.body), 'endpoint');
    if (req.body.enabled === false) await ctx.service.endEndpointLeases(req.principal, e.id);
    return endpointJson(e);
  });
  app.delete('/endpoints/:id', { schema: { tags, params: IdParams } }, async (req, reply) => {
    found(await ctx.store.deleteEndpoint(req.principal.accountId, req.params.id), 'endpoint');
    return reply.code(204).send();
  });
};
