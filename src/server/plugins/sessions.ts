import { Type } from 'typebox';
import { frameSse, frameSseComment } from '../../engine/sse.js';
import { ApiError } from '../../errors.js';
import { bearer } from '../auth.js';
import type { RoutePlugin } from './common.js';
import { IdParams, LeaseSchema } from '../schemas.js';
import { iso, leaseJson } from '../serialize.js';
import { endOfTurn } from '../deps.js';
import type { LeaseEvent } from '../../store/types.js';

function sessionToken(h: string | undefined): string {
  const t = bearer({ headers: { authorization: h } } as never);
  if (t === null) throw new ApiError('unauthorized', 'send Authorization: Bearer <session token>');
  return t;
}

/** Routes a client calls with its session token: heartbeat, close, event stream. */
export const sessionRoutes: RoutePlugin = async (app, { ctx }) => {
  const tags = ['sessions'];
  // Open streams end when the server shuts down, so that close does not wait on them and
  // clients reconnect (to another server, in a cluster) at once.
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const finish of [...open]) finish();
  });

  app.post(
    '/sessions/:id/heartbeat',
    { schema: { tags, summary: 'Keep the session (and its seat) alive', params: IdParams, response: { 200: Type.Object({ expiresAt: Type.String(), lease: LeaseSchema }) } } },
    async (req, reply) => {
      const r = await ctx.service.heartbeat(req.params.id, sessionToken(req.headers.authorization));
      await endOfTurn();
      // The hot path: the lease's JSON was built once when it last changed.
      if (r.leaseText !== undefined) {
        // A string with its content type set is sent as it is (no serializer runs).
        return reply.header('content-type', 'application/json; charset=utf-8').send(`{"expiresAt":"${iso(r.expiresAt)}","lease":${r.leaseText}}` as never);
      }
      return { expiresAt: iso(r.expiresAt), lease: leaseJson(r.lease) };
    },
  );

  app.delete('/sessions/:id', { schema: { tags, summary: 'The client closed this session', params: IdParams } }, async (req, reply) => {
    await ctx.service.closeSession(req.params.id, sessionToken(req.headers.authorization));
    return reply.code(204).send();
  });

  app.get(
    '/sessions/:id/events',
    {
      schema: {
        tags,
        summary: 'Server-sent events for this session (lease.ended, …); resumes after Last-Event-ID',
        params: IdParams,
        querystring: Type.Object({ lastEventId: Type.Optional(Type.Integer({ minimum: 0 })) }),
      },
    },
    async (req, reply) => {
      const session = await ctx.service.sessionFor(req.params.id, sessionToken(req.headers.authorization));
      const header = req.headers['last-event-id'];
      const fromHeader = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : null;
      let last = fromHeader ?? req.query.lastEventId ?? 0;

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(frameSse({ retry: 3000 }));

      let done = false;
      const buffered: LeaseEvent[] = [];
      let replaying = true;
      const send = (e: LeaseEvent) => {
        if (done || e.seq <= last) return;
        last = e.seq;
        // The event's own `at` (a termination or flex end time) wins over when it was recorded.
        res.write(frameSse({ id: e.seq, event: e.type, data: JSON.stringify({ at: iso(e.at), ...e.data }) }));
        if (e.type === 'lease.ended') finish();
      };
      // Subscribe before replaying so nothing produced in between is lost; the seq check
      // drops what the replay already sent.
      const unsubscribe = ctx.hub.subscribeLease(session.leaseId, (e) => (replaying ? buffered.push(e) : send(e)));
      const keepAlive = setInterval(() => res.write(frameSseComment('keep-alive')), ctx.config.sseKeepAliveMs);
      const replay = async () => {
        replaying = true;
        for (;;) {
          const past = await ctx.store.eventsSince(session.leaseId, last, 500);
          past.forEach(send);
          if (past.length < 500 || done) break;
        }
        replaying = false;
        buffered.splice(0).forEach(send);
      };
      const stopResync = ctx.hub.onResync(() => {
        replay().catch((err: unknown) => req.log.warn({ err, reqId: req.id }, 'event stream resync failed'));
      });
      function finish() {
        if (done) return;
        done = true;
        open.delete(finish);
        clearInterval(keepAlive);
        unsubscribe();
        stopResync();
        res.end();
      }
      req.raw.on('close', finish);
      res.on('close', finish);
      open.add(finish);
      // The client may have gone while the session was being checked.
      if (req.raw.destroyed || res.destroyed || req.raw.socket.destroyed) finish();

      try {
        await replay();
        // A session whose lease already ended and whose client has seen the end: close.
        if (!done && (await ctx.store.heartbeat(session.id)).kind === 'ended') finish();
      } catch (err) {
        req.log.error({ err, reqId: req.id }, 'event stream failed');
        finish();
      }
    },
  );
};
