import { Type } from 'typebox';
import { frameSse, frameSseComment } from '../../engine/sse.js';
import { scopeAdmits } from '../../engine/permissions.js';
import { ApiError } from '../../errors.js';
import { leasePermissions, selfId } from '../auth.js';
import { authHook, found, type RoutePlugin } from './common.js';
import { iso } from '../serialize.js';
import type { LeaseEvent } from '../../store/types.js';

/**
 * The live admin stream (GET /v1/events): `lease.*` events of the caller's account that its
 * `view` permission admits (replayed after Last-Event-ID), `denial` events as refusals are
 * recorded, and a `usage` snapshot whenever the counts change.
 */
export const eventRoutes: RoutePlugin = async (app, { ctx }) => {
  app.addHook('preHandler', authHook(ctx));
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const finish of [...open]) finish();
  });

  app.get(
    '/events',
    {
      schema: {
        tags: ['events'],
        summary: 'Live account events: lease.*, alert, denial, usage (server-sent events); resumes after Last-Event-ID',
        querystring: Type.Object({ lastEventId: Type.Optional(Type.Integer({ minimum: 0 })) }),
      },
    },
    async (req, reply) => {
      const p = req.principal;
      const account = found(await ctx.store.getAccount(p.accountId), 'account');
      const perms = leasePermissions(p, account);
      if (perms.view === 'none') throw new ApiError('forbidden', 'you may not view leases');
      const header = req.headers['last-event-id'];
      // A new stream starts at the present (the history is in the reports); a reconnecting
      // one resumes after the last event it saw.
      let last = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : (req.query.lastEventId ?? (await ctx.store.lastAccountEventSeq(p.accountId)));

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      res.write(frameSse({ retry: 3000 }));
      let done = false;
      const owners = new Map<string, string | null>();
      const admits = async (e: LeaseEvent): Promise<boolean> => {
        if (perms.view === 'domain') return true;
        // Account events (alerts) are about licenses, which only whole-account viewers see.
        if (e.leaseId === '') return false;
        if (!owners.has(e.leaseId)) owners.set(e.leaseId, (await ctx.store.getLease(p.accountId, e.leaseId))?.user ?? null);
        return scopeAdmits(perms.view, selfId(p), owners.get(e.leaseId) ?? null);
      };
      let chain = Promise.resolve();
      const send = (e: LeaseEvent) => {
        chain = chain.then(async () => {
          if (done || e.seq <= last || !(await admits(e))) return;
          last = e.seq;
          res.write(frameSse({ id: e.seq, event: e.type, data: JSON.stringify({ ...(e.leaseId !== '' && { lease: e.leaseId }), at: iso(e.at), ...e.data }) }));
        }).catch(() => undefined);
      };
      const buffered: LeaseEvent[] = [];
      let replaying = true;
      const unsubscribe = ctx.hub.subscribeAccount(p.accountId, (e) => (replaying ? buffered.push(e) : send(e)));
      const unsubscribeSignals = ctx.hub.subscribeSignals(p.accountId, (type, data) => {
        if (!done && (type !== 'denial' || perms.view === 'domain')) res.write(frameSse({ event: type, data: JSON.stringify(data) }));
      });
      let lastUsage = '';
      const usage = setInterval(() => {
        ctx.store.usage(p.accountId, ctx.clock.now()).then((u) => {
          const snapshot = JSON.stringify(u.map((x) => ({
            product: x.product, inUse: x.inUse, capacity: x.capacity, flex: x.flexInUse, ppu: x.ppuInUse, queued: x.queued, ...(x.units !== null && { units: x.units }),
          })));
          if (!done && snapshot !== lastUsage) {
            lastUsage = snapshot;
            res.write(frameSse({ event: 'usage', data: `{"products":${snapshot}}` }));
          }
        }).catch(() => undefined);
      }, ctx.config.ticketPollMs);
      const keepAlive = setInterval(() => res.write(frameSseComment('keep-alive')), ctx.config.sseKeepAliveMs);
      function finish() {
        if (done) return;
        done = true;
        open.delete(finish);
        clearInterval(keepAlive);
        clearInterval(usage);
        unsubscribe();
        unsubscribeSignals();
        res.end();
      }
      open.add(finish);
      req.raw.on('close', finish);
      res.on('close', finish);
      if (req.raw.destroyed || res.destroyed) finish();
      try {
        for (;;) {
          const past = await ctx.store.accountEventsSince(p.accountId, last, 500);
          past.forEach(send);
          if (past.length < 500 || done) break;
        }
      } finally {
        replaying = false;
        buffered.splice(0).forEach(send);
      }
    },
  );
};
