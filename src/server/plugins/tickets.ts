import { Type } from 'typebox';
import { frameSse, frameSseComment } from '../../engine/sse.js';
import { ApiError } from '../../errors.js';
import { bearer } from '../auth.js';
import type { RoutePlugin } from './common.js';
import { IdParams, LeaseSchema, Nullable } from '../schemas.js';
import { iso, leaseJson } from '../serialize.js';
import type { LeaseService } from '../lease-service.js';

function ticketToken(h: string | undefined): string {
  const t = bearer({ headers: { authorization: h } } as never);
  if (t === null) throw new ApiError('unauthorized', 'send Authorization: Bearer <ticket token>');
  return t;
}

async function view(service: LeaseService, id: string, token: string, keepAlive: boolean) {
  const r = await service.ticket(id, token, keepAlive);
  const { ticket } = r;
  return {
    status: ticket.status,
    position: ticket.position,
    expiresAt: iso(ticket.expiresAt),
    ...(r.lease && { lease: leaseJson(r.lease) }),
    ...(r.session && {
      session: {
        id: r.session.id,
        token: r.session.token,
        heartbeatInterval: r.session.interval,
        heartbeatTimeout: r.session.timeout,
        // The session started when the seat was granted; the holder must heartbeat within
        // one timeout of that moment (the lease's `startedAt` or its grant event).
        expiresAt: r.lease ? iso(Math.max(r.lease.startedAt, ticket.createdAt) + r.session.timeout * 1000) : iso(ticket.expiresAt),
      },
    }),
  };
}

/** Queue tickets (SPEC §4 "queue"): poll, stream, cancel, with the ticket's own token. */
export const ticketRoutes: RoutePlugin = async (app, { ctx }) => {
  const tags = ['queue'];
  const TicketView = Type.Object({
    status: Type.String(),
    position: Type.Integer(),
    expiresAt: Type.String(),
    lease: Type.Optional(LeaseSchema),
    session: Type.Optional(
      Type.Object({ id: Type.String(), token: Type.String(), heartbeatInterval: Type.Number(), heartbeatTimeout: Type.Number(), expiresAt: Nullable(Type.String()) }),
    ),
  });

  app.get('/tickets/:id', { schema: { tags, summary: 'Where a queued request stands; polling keeps it alive', params: IdParams, response: { 200: TicketView } } }, async (req) =>
    view(ctx.service, req.params.id, ticketToken(req.headers.authorization), true),
  );

  app.delete('/tickets/:id', { schema: { tags, summary: 'Leave the queue', params: IdParams } }, async (req, reply) => {
    await ctx.service.cancelTicket(req.params.id, ticketToken(req.headers.authorization));
    return reply.code(204).send();
  });

  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const finish of [...open]) finish();
  });

  app.get(
    '/tickets/:id/events',
    { schema: { tags, summary: 'Server-sent ticket.position and ticket.granted events; keeps the ticket alive', params: IdParams } },
    async (req, reply) => {
      const token = ticketToken(req.headers.authorization);
      let last = await view(ctx.service, req.params.id, token, true);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      let done = false;
      let seq = 0;
      const send = (event: string, data: unknown) => res.write(frameSse({ id: ++seq, event, data: JSON.stringify(data) }));
      const finish = () => {
        if (done) return;
        done = true;
        open.delete(finish);
        clearInterval(poll);
        clearInterval(keepAlive);
        res.end();
      };
      const emit = (v: typeof last) => {
        if (v.status === 'waiting') send('ticket.position', { position: v.position, expiresAt: v.expiresAt });
        else {
          send(`ticket.${v.status}`, v);
          finish();
        }
      };
      emit(last);
      // The stream keeps the ticket alive and reports position changes; a second is fine
      // resolution for a queue.
      const poll = setInterval(() => {
        view(ctx.service, req.params.id, token, true)
          .then((v) => {
            if (v.status !== last.status || v.position !== last.position) emit(v);
            last = v;
          })
          .catch(() => finish());
      }, ctx.config.ticketPollMs);
      const keepAlive = setInterval(() => res.write(frameSseComment('keep-alive')), ctx.config.sseKeepAliveMs);
      open.add(finish);
      req.raw.on('close', finish);
      res.on('close', finish);
      if (req.raw.destroyed || res.destroyed || req.raw.socket.destroyed) finish();
    },
  );
};
