import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Ctx } from './context.js';

/** Routes whose successful writes are administrative changes (SPEC §7, issue 5). */
const AUDITED = /^\/v1\/(settings|ppu\/topup|users|teams|api-keys|products|licenses|endpoints|webhooks|alert-rules|leases\/terminate|leases\/:id\/release)(\/|$)/;
const SECRET_FIELDS = new Set(['password', 'secret', 'token', 'key']);

function redact(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return {};
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, SECRET_FIELDS.has(k) ? '[redacted]' : v]));
}

function actor(req: FastifyRequest): string | null {
  const p = (req as { principal?: FastifyRequest['principal'] }).principal;
  if (!p) return null;
  switch (p.kind) {
    case 'user':
      return `user:${p.user.id} (${p.user.username})`;
    case 'admin':
    case 'service':
      return `${p.kind}-key:${p.keyId}`;
    case 'endpoint':
      return `endpoint:${p.endpoint.id}`;
  }
}

/**
 * Records every successful administrative write — who, when, which route, the target id and
 * the body with secrets redacted — before the answer leaves (onSend), so that whoever got the
 * answer finds the record (written after it, a next request could overtake it). A failure to
 * record is logged and does not fail the change, which has been made. The hook is attached, as
 * routes are registered, to the audited write routes only, so that hot routes (heartbeats) do
 * not pay for it.
 */
export function installAudit(app: FastifyInstance, ctx: Ctx): void {
  const record = async (req: FastifyRequest, reply: { statusCode: number }, payload: unknown) => {
    if (reply.statusCode >= 400) return payload;
    const route = req.routeOptions.url ?? '';
    const who = actor(req);
    if (who === null) return payload;
    const params = req.params as { id?: string } | undefined;
    try {
      await ctx.store.recordAudit({
        accountId: req.principal.accountId,
        at: ctx.clock.now(),
        actor: who,
        action: `${req.method} ${route}`,
        target: params?.id ?? null,
        detail: redact(req.body),
      });
    } catch (err) {
      req.log.error({ err, reqId: req.id }, 'audit record failed');
    }
    return payload;
  };
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!AUDITED.test(route.url) || methods.every((m) => m === 'GET' || m === 'HEAD')) return;
    const existing = route.onSend === undefined ? [] : Array.isArray(route.onSend) ? route.onSend : [route.onSend];
    route.onSend = [...existing, record];
  });
}
