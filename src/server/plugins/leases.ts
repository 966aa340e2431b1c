import { Type } from 'typebox';
import { ApiError } from '../../errors.js';
import { sendApiError } from '../problems.js';
import { canControl, canView, leasePermissions, selfId, type Principal } from '../auth.js';
import { authHook, found, pageOf, type RoutePlugin } from './common.js';
import { AcquireBody, IdParams, LeaseQuery, LeaseSchema, SessionSchema, TicketSchema, UsageSchema, pageOf as pageSchema } from '../schemas.js';
import { iso, leaseJson } from '../serialize.js';
import type { Ctx } from '../context.js';
import { thisTurn } from '../deps.js';
import type { Lease } from '../../store/types.js';

async function permissionsOf(ctx: Ctx, p: Principal) {
  const account = found(await ctx.store.getAccount(p.accountId), 'account');
  return leasePermissions(p, account);
}

/** A lease the caller may see, else 404 (never say that another's lease exists). */
async function visibleLease(ctx: Ctx, p: Principal, id: string): Promise<{ lease: Lease; perms: Awaited<ReturnType<typeof permissionsOf>> }> {
  const lease = await ctx.store.getLease(p.accountId, id);
  const perms = await permissionsOf(ctx, p);
  // Another user's paused lease is hidden from everyone else (SPEC §3).
  if (!lease || !canView(p, perms, lease) || (lease.status === 'paused' && lease.user !== selfId(p))) {
    throw new ApiError('not-found', `lease ${id} not found`);
  }
  return { lease, perms };
}

export const leaseRoutes: RoutePlugin = async (app, { ctx }) => {
  app.addHook('preHandler', authHook(ctx));
  const tags = ['leases'];

  app.post(
    '/leases',
    {
      schema: {
        tags,
        summary: 'Start a session, and a lease (a seat) if the seat model needs a new one',
        body: AcquireBody,
        response: {
          201: Type.Object({ lease: LeaseSchema, session: Type.Optional(SessionSchema) }),
          202: Type.Object({ ticket: TicketSchema }),
        },
      },
    },
    async (req, reply) => {
      // A refusal from the product's last read is ready while this turn still reads other
      // requests: like a heartbeat, it leaves with the turn's other answers (`thisTurn`).
      // One that waited for a group commit is past its turn already and leaves at once.
      const turn = thisTurn();
      let r;
      try {
        r = await ctx.service.acquire(req.principal, req.body);
      } catch (e) {
        // A refusal is the usual answer under contention: sent from here, it skips Fastify's
        // error path (the rejected promise, onError, the error handler). Same answer.
        if (!(e instanceof ApiError)) throw e;
        if (!turn.ended) await turn.end;
        return sendApiError(reply, e);
      }
      if (r.kind === 'standby') return reply.code(201).send({ lease: leaseJson(r.lease) });
      if (r.kind === 'queued') {
        return reply.code(202).send({ ticket: { id: r.ticket.id, token: r.token, position: r.ticket.position, expiresAt: iso(r.ticket.expiresAt) } });
      }
      return reply.code(201).send({
        lease: leaseJson(r.lease),
        session: {
          id: r.session.id,
          token: r.token,
          heartbeatInterval: r.session.interval,
          heartbeatTimeout: r.session.timeout,
          expiresAt: iso(r.expiresAt),
        },
      });
    },
  );

  app.get('/leases', { schema: { tags, summary: 'Leases the caller may view', querystring: LeaseQuery, response: { 200: pageSchema(LeaseSchema) } } }, async (req) => {
    const p = req.principal;
    const perms = await permissionsOf(ctx, p);
    if (perms.view === 'none') throw new ApiError('forbidden', 'you may not view leases');
    const { limit: _l, cursor: _c, ...filter } = req.query;
    const page = await ctx.store.listLeases(
      p.accountId,
      { ...filter, viewer: selfId(p), ...(perms.view === 'own' && { onlyUser: selfId(p) ?? '\0' }) },
      pageOf(req.query),
    );
    return { items: page.items.map(leaseJson), next: page.next };
  });

  app.get('/leases/:id', { schema: { tags, params: IdParams, response: { 200: LeaseSchema } } }, async (req) =>
    leaseJson((await visibleLease(ctx, req.principal, req.params.id)).lease),
  );

  app.post(
    '/leases/terminate',
    {
      schema: {
        tags,
        summary: 'End selected leases after a notice and a grace period; all or nothing',
        body: Type.Object(
          {
            ids: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { minItems: 1, maxItems: 1000 }),
            message: Type.Optional(Type.String({ maxLength: 500 })),
            grace: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400 })),
          },
          { additionalProperties: false },
        ),
        response: { 202: Type.Object({ terminating: Type.Array(Type.Object({ id: Type.String(), at: Type.String() })) }) },
      },
    },
    async (req, reply) => {
      const perms = await permissionsOf(ctx, req.principal);
      const message = req.body.message ?? 'An administrator is ending this session.';
      const done = await ctx.service.terminate(req.principal, perms, req.body.ids, message, req.body.grace ?? 30);
      return reply.code(202).send({ terminating: done.map((t) => ({ id: t.id, at: iso(t.at) })) });
    },
  );

  app.post('/leases/:id/pause', { schema: { tags, summary: 'Pause your own lease: it frees its seat until resumed', params: IdParams, response: { 200: LeaseSchema } } }, async (req) =>
    leaseJson(await ctx.service.pause(req.principal, req.params.id)),
  );

  app.post('/leases/:id/resume', { schema: { tags, summary: 'Resume your paused lease (needs a free seat)', params: IdParams, response: { 200: LeaseSchema } } }, async (req) =>
    leaseJson(await ctx.service.resume(req.principal, req.params.id)),
  );

  app.post(
    '/leases/:id/release',
    { schema: { tags, summary: 'Release (log out): ends the lease unless other sessions are alive', params: IdParams, response: { 200: LeaseSchema } } },
    async (req) => {
      const { lease, perms } = await visibleLease(ctx, req.principal, req.params.id);
      if (!canControl(req.principal, perms, lease)) throw new ApiError('forbidden', 'you may not end this lease', { refused: [lease.id] });
      return leaseJson(found(await ctx.service.release(req.principal.accountId, lease.id), 'lease'));
    },
  );

  app.get('/usage', { schema: { tags: ['usage'], summary: 'Seats per product and license', response: { 200: UsageSchema } } }, async (req) => {
    const p = req.principal;
    if (p.kind === 'endpoint') throw new ApiError('forbidden', 'endpoint keys cannot read usage');
    const account = found(await ctx.store.getAccount(p.accountId), 'account');
    const products = await ctx.store.usage(p.accountId, ctx.clock.now());
    return {
      products: products.map((u) => ({
        product: u.product,
        capacity: u.capacity,
        inUse: u.inUse,
        free: Math.max(0, u.capacity - u.inUse),
        overage: u.overage,
        flex: { inUse: u.flexInUse, max: account.settings.flexMax },
        ppu: { inUse: u.ppuInUse, balanceMinutes: account.settings.ppu.balanceMinutes },
        queued: u.queued,
        paused: 0,
        standby: 0,
        peakToday: u.peakToday,
        ...(u.units !== null && { units: u.units }),
        licenses: u.licenses,
      })),
    };
  });
};
