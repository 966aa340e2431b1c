import { Type } from 'typebox';
import { requireAdmin } from '../auth.js';
import { authHook, found, pageOf, type RoutePlugin } from './common.js';
import { IdParams, Iso, Nullable, PageQuery, pageOf as pageSchema } from '../schemas.js';
import { iso, isoOrNull } from '../serialize.js';
import { newId, newSecret } from '../deps.js';
import { RangeQuery, range } from './reports.js';
import type { Alert, Delivery, Webhook } from '../../store/types.js';

const AlertSchema = Type.Object({
  id: Type.String(), at: Iso, license: Nullable(Type.String()), product: Type.String(), kind: Type.String(), threshold: Type.Number(), value: Type.Number(),
});
const RuleSchema = Type.Object({ id: Type.String(), kind: Type.String(), description: Type.String(), thresholds: Type.Array(Type.Number()), enabled: Type.Boolean() });
const DeliverySchema = Type.Object({
  id: Type.String(), type: Type.String(), status: Type.String(), attempts: Type.Integer(), lastStatus: Nullable(Type.Integer()), lastError: Nullable(Type.String()),
  nextAttemptAt: Nullable(Iso), deliveredAt: Nullable(Iso), createdAt: Iso,
});
const WebhookSchema = Type.Object({
  id: Type.String(), url: Type.String(), events: Type.Array(Type.String()), enabled: Type.Boolean(), createdAt: Iso, secret: Type.Optional(Type.String()),
});
const Url = Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2000 });
const Events = Type.Array(Type.String({ pattern: '^(\\*|[a-z][a-z.-]{0,49})$' }), { minItems: 1, maxItems: 50 });
const Secret = Type.String({ minLength: 16, maxLength: 200 });

const alertJson = (a: Alert) => ({ id: a.id, at: iso(a.at), license: a.license, product: a.product, kind: a.kind, threshold: a.threshold, value: a.value });
const webhookJson = (w: Webhook) => ({ id: w.id, url: w.url, events: w.events, enabled: w.enabled, createdAt: iso(w.createdAt) });
const deliveryJson = (d: Delivery) => ({
  id: d.id, type: d.type, status: d.status, attempts: d.attempts, lastStatus: d.lastStatus, lastError: d.lastError,
  nextAttemptAt: d.status === 'pending' ? iso(d.nextAttemptAt) : null, deliveredAt: isoOrNull(d.deliveredAt), createdAt: iso(d.createdAt),
});

/** Alert rules, fired alerts, webhooks and the delivery log (SPEC §6, docs/metering.md). Admins only. */
export const alertRoutes: RoutePlugin = async (app, { ctx }) => {
  app.addHook('preHandler', authHook(ctx));
  app.addHook('preHandler', async (req) => requireAdmin(req.principal));
  const tags = ['alerts'];

  app.get('/alert-rules', { schema: { tags, summary: 'Thresholds per kind of license (percent)', response: { 200: pageSchema(RuleSchema) } } }, async (req) => ({
    items: await ctx.store.listAlertRules(req.principal.accountId),
    next: null,
  }));

  app.patch(
    '/alert-rules/:id',
    {
      schema: {
        tags, summary: 'Change a rule’s thresholds or turn it off', params: IdParams,
        body: Type.Object(
          { thresholds: Type.Optional(Type.Array(Type.Number({ minimum: 1, maximum: 1000 }), { minItems: 1, maxItems: 20 })), enabled: Type.Optional(Type.Boolean()) },
          { additionalProperties: false },
        ),
        response: { 200: RuleSchema },
      },
    },
    async (req) => found(await ctx.store.updateAlertRule(req.principal.accountId, req.params.id, req.body), 'alert rule'),
  );

  app.get('/alerts', { schema: { tags, summary: 'Fired alerts, newest first', querystring: RangeQuery, response: { 200: pageSchema(AlertSchema) } } }, async (req) => {
    const page = await ctx.store.listAlerts(req.principal.accountId, await range(ctx, req.principal.accountId, req.query), pageOf(req.query));
    return { items: page.items.map(alertJson), next: page.next };
  });

  app.post('/alerts/check', { schema: { tags, summary: 'Run the alert check now; returns what fired', response: { 200: Type.Object({ fired: Type.Array(AlertSchema) }) } } }, async (req) => {
    const c = await ctx.service.checkAlertsNow(req.principal.accountId);
    return { fired: c.fired.map(alertJson) };
  });

  app.get('/alerts/deliveries', { schema: { tags, summary: 'Alert e-mail delivery log, newest first', querystring: PageQuery, response: { 200: pageSchema(DeliverySchema) } } }, async (req) => {
    const page = await ctx.store.listDeliveries(req.principal.accountId, { channel: 'email' }, pageOf(req.query));
    return { items: page.items.map(deliveryJson), next: page.next };
  });

  // ── webhooks ────────────────────────────────────────────────────────────────────────
  app.get('/webhooks', { schema: { tags, querystring: PageQuery, response: { 200: pageSchema(WebhookSchema) } } }, async (req) => {
    const page = await ctx.store.listWebhooks(req.principal.accountId, pageOf(req.query));
    return { items: page.items.map(webhookJson), next: page.next };
  });

  app.post(
    '/webhooks',
    {
      schema: {
        tags, summary: 'Add a webhook; its signing secret is returned once',
        body: Type.Object({ url: Url, events: Type.Optional(Events), secret: Type.Optional(Secret), enabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        response: { 201: WebhookSchema },
      },
    },
    async (req, reply) => {
      const now = ctx.clock.now();
      const secret = req.body.secret ?? newSecret('whsec');
      const w = await ctx.store.createWebhook(req.principal.accountId, newId('whk', now), { url: req.body.url, events: req.body.events ?? ['*'], secret, enabled: req.body.enabled ?? true }, now);
      return reply.code(201).send({ ...webhookJson(w), secret });
    },
  );

  app.get('/webhooks/:id', { schema: { tags, params: IdParams, response: { 200: WebhookSchema } } }, async (req) =>
    webhookJson(found(await ctx.store.getWebhook(req.principal.accountId, req.params.id), 'webhook')),
  );

  app.patch(
    '/webhooks/:id',
    {
      schema: {
        tags, params: IdParams,
        body: Type.Object({ url: Type.Optional(Url), events: Type.Optional(Events), secret: Type.Optional(Secret), enabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        response: { 200: WebhookSchema },
      },
    },
    async (req) => webhookJson(found(await ctx.store.updateWebhook(req.principal.accountId, req.params.id, req.body), 'webhook')),
  );

  app.delete('/webhooks/:id', { schema: { tags, params: IdParams } }, async (req, reply) => {
    found(await ctx.store.deleteWebhook(req.principal.accountId, req.params.id), 'webhook');
    return reply.code(204).send();
  });

  app.get('/webhooks/:id/deliveries', { schema: { tags, summary: 'Delivery log of one webhook, newest first', params: IdParams, querystring: PageQuery, response: { 200: pageSchema(DeliverySchema) } } }, async (req) => {
    found(await ctx.store.getWebhook(req.principal.accountId, req.params.id), 'webhook');
    const page = await ctx.store.listDeliveries(req.principal.accountId, { webhookId: req.params.id }, pageOf(req.query));
    return { items: page.items.map(deliveryJson), next: page.next };
  });
};
