import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { authenticate } from '../auth.js';
import type { Ctx } from '../context.js';
import type { Page } from '../../store/types.js';
import { ApiError } from '../../errors.js';

export type RoutePlugin = FastifyPluginAsyncTypebox<{ ctx: Ctx }>;

/** preHandler that resolves the bearer token to `req.principal` (401 otherwise). */
export function authHook(ctx: Ctx) {
  return async (req: FastifyRequest): Promise<void> => {
    req.principal = await authenticate(ctx.store, req, ctx.clock.now());
  };
}

export function pageOf(q: { limit?: number | undefined; cursor?: string | undefined }): Page {
  return { limit: q.limit ?? 100, cursor: q.cursor ?? null };
}

export function found<T>(v: T | undefined | false, what: string): T {
  if (v === undefined || v === false) throw new ApiError('not-found', `${what} not found`);
  return v;
}

