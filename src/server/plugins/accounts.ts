import { Type } from 'typebox';
import { isValidTimeZone } from '../../engine/daily-reset.js';
import { ApiError } from '../../errors.js';
import { authHook, type RoutePlugin } from './common.js';
import { bearer } from '../auth.js';
import { DUMMY_PASSWORD_HASH, hashPassword, hashToken, newId, newSecret, safeEqual, verifyPassword } from '../deps.js';
import { defaultSettings } from '../defaults.js';
import { iso, userJson } from '../serialize.js';
import { UserSchema } from '../schemas.js';
import type { Ctx } from '../context.js';

const AccountCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' }),
    timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    owner: Type.Object(
      { username: Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\s]+$' }), password: Type.String({ minLength: 8, maxLength: 200 }) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
const Login = Type.Object(
  { account: Type.String({ minLength: 1, maxLength: 100 }), username: Type.String({ minLength: 1, maxLength: 100 }), password: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);

/** Creates an account with its owner: used by POST /v1/accounts, first start and --demo. */
export async function createAccount(ctx: Ctx, name: string, timezone: string, owner: { username: string; password: string }) {
  if (!isValidTimeZone(timezone)) throw new ApiError('bad-request', `unknown time zone ${timezone}`, { field: 'timezone' });
  const now = ctx.clock.now();
  return ctx.store.createAccount(
    { id: newId('acc', now), name, timezone, settings: defaultSettings() },
    { id: newId('usr', now), username: owner.username, passwordHash: await hashPassword(owner.password), role: 'owner', teams: [], maxLeases: null, permissions: null },
    now,
  );
}

export const accountRoutes: RoutePlugin = async (app, { ctx }) => {
  app.post('/accounts', { schema: { tags: ['bootstrap'], summary: 'Create an account (operator key)', body: AccountCreate } }, async (req, reply) => {
    const token = bearer(req);
    if (ctx.config.operatorKey === null) throw new ApiError('forbidden', 'account creation is disabled: set SEATKEEPER_OPERATOR_KEY');
    if (token === null || !safeEqual(token, ctx.config.operatorKey)) throw new ApiError('unauthorized', 'this needs the operator key');
    const { account } = await createAccount(ctx, req.body.name, req.body.timezone ?? 'UTC', req.body.owner);
    return reply.code(201).send({ id: account.id, name: account.name });
  });

  app.post(
    '/auth/login',
    {
      schema: {
        tags: ['bootstrap'],
        summary: 'Log in with a password; returns a user token',
        security: [],
        body: Login,
        response: { 200: Type.Object({ token: Type.String(), expiresAt: Type.String(), user: UserSchema }) },
      },
      config: { rateLimit: { max: ctx.config.loginRateLimit, timeWindow: 60_000, errorResponseBuilder: () => new ApiError('rate-limited', 'too many login attempts; wait a minute') } },
    },
    async (req) => {
      const { account: name, username, password } = req.body;
      const account = await ctx.store.findAccountByName(name);
      const user = account && (await ctx.store.findUserByUsername(account.id, username));
      // Verify against a dummy hash when the user does not exist, so that timing does not
      // tell which usernames are valid.
      const ok = await verifyPassword(password, user ? user.passwordHash : DUMMY_PASSWORD_HASH);
      if (!account || !user || !ok) throw new ApiError('unauthorized', 'wrong account, username or password');
      const token = newSecret('skt');
      const expiresAt = ctx.clock.now() + ctx.config.tokenTtlMs;
      await ctx.store.putCredential(hashToken(token), { accountId: account.id, kind: 'user', subjectId: user.id, expiresAt });
      const { passwordHash: _omit, ...plain } = user;
      return { token, expiresAt: iso(expiresAt), user: userJson(plain) };
    },
  );

  app.post('/auth/logout', { schema: { tags: ['bootstrap'], summary: 'Revoke this user token' }, preHandler: authHook(ctx) }, async (req, reply) => {
    if (req.principal.kind === 'user') await ctx.store.deleteCredential(req.principal.tokenHash);
    return reply.code(204).send();
  });
};
