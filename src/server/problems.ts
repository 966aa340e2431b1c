import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { ApiError, type ProblemCode } from '../errors.js';

export function sendProblem(reply: FastifyReply, code: ProblemCode, detail: string, extra: Record<string, unknown> = {}) {
  return sendApiError(reply, new ApiError(code, detail, extra));
}

/** An ApiError's answer: its catalogue code, its message as the detail, its extra fields (`ApiError.body`). */
export function sendApiError(reply: FastifyReply, err: ApiError) {
  return reply.code(err.status).type('application/problem+json').send(err.body);
}

/**
 * Every error leaves as application/problem+json with a catalogue code: our own ApiErrors,
 * schema validation, malformed JSON, oversize bodies, unknown routes and anything
 * unexpected (logged, answered without internals).
 */
export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    if (err instanceof ApiError) return sendApiError(reply, err);
    const fe = err as FastifyError;
    if (fe.validation) {
      const first = fe.validation[0];
      const where = fe.validationContext ?? 'body';
      const path = first?.instancePath ? `${where}${first.instancePath.replace(/\//g, '.')}` : where;
      const param = (first?.params as { additionalProperty?: string; missingProperty?: string } | undefined) ?? {};
      const field = param.additionalProperty ?? param.missingProperty;
      const detail = field ? `${path}: ${first?.message ?? 'invalid'} (${field})` : `${path}: ${first?.message ?? 'invalid'}`;
      return sendProblem(reply, 'bad-request', detail, { errors: fe.validation.map((v) => ({ path: v.instancePath, message: v.message })) });
    }
    switch (fe.code) {
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return sendProblem(reply, 'bad-request', 'the request body is not valid JSON');
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendProblem(reply, 'payload-too-large', 'the request body is too large');
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendProblem(reply, 'unsupported-media-type', 'send JSON with Content-Type: application/json');
    }
    if (isStoreUnavailable(err)) {
      req.log.warn({ err, reqId: req.id }, 'store unavailable');
      reply.header('retry-after', '2');
      return sendProblem(reply, 'unavailable', 'the license store is unreachable; retry shortly');
    }
    if (fe.statusCode === 429) return sendProblem(reply, 'rate-limited', 'too many requests; try again later');
    if (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500) {
      return sendProblem(reply, 'bad-request', fe.message);
    }
    req.log.error({ err, reqId: req.id }, 'unhandled error');
    return sendProblem(reply, 'internal-error', 'an unexpected error occurred; it has been logged');
  });
  app.setNotFoundHandler((req, reply) => sendProblem(reply, 'not-found', `no route ${req.method} ${req.url.split('?')[0]}`));
}

const UNAVAILABLE = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND',
  '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006', '53300',
  'SQLITE_BUSY', 'SQLITE_IOERR', 'SQLITE_FULL',
]);

/** Errors that mean "the database cannot be reached right now", not "this request is wrong". */
export function isStoreUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && UNAVAILABLE.has(code)) return true;
  const message = (err as { message?: unknown }).message;
  return typeof message === 'string' && /Connection terminated|timeout exceeded when trying to connect/i.test(message);
}
