import { Type } from 'typebox';
import { ApiError } from '../../errors.js';
import { requireAdmin, type Principal } from '../auth.js';
import { authHook, found, pageOf, type RoutePlugin } from './common.js';
import { hashPassword, hashToken, newId, newSecret } from '../deps.js';
import { ApiKeyBody, ApiKeySchema, IdParams, PageQuery, TeamBody, TeamSchema, UserCreate, UserPatch, UserSchema, pageOf as pageSchema } from '../schemas.js';
import { apiKeyJson, teamJson, userJson } from '../serialize.js';

/** Only an owner may make, unmake, change or delete an owner. */
function guardOwner(p: Principal, touchesOwner: boolean): void {
  if (touchesOwner && !(p.kind === 'user' && p.user.role === 'owner')) {
    throw new ApiError('forbidden', 'only an owner can create, change or delete an owner');
  }
}

export const peopleRoutes: RoutePlugin = async (app, { ctx }) => {
  app.addHook('preHandler', authHook(ctx));
  app.addHook('preHandler', async (req) => requireAdmin(req.principal));
  const tags = ['set-up'];

  // ── users ───────────────────────────────────────────────────────────────────────────
  app.get('/users', { schema: { tags, querystring: PageQuery, response: { 200: pageSchema(UserSchema) } } }, async (req) => {
    const page = await ctx.store.listUsers(req.principal.accountId, pageOf(req.query));
    return { items: page.items.map(userJson), next: page.next };
  });

  app.post('/users', { schema: { tags, body: UserCreate, response: { 201: UserSchema } } }, async (req, reply) => {
    const b = req.body;
    const role = b.role ?? 'member';
    guardOwner(req.principal, role === 'owner');
    const now = ctx.clock.now();
    const user = await ctx.store.createUser(req.principal.accountId, newId('usr', now), {
      username: b.username, passwordHash: await hashPassword(b.password), role, teams: b.teams ?? [],
      maxLeases: b.maxLeases ?? null, permissions: b.permissions ?? null,
    }, now);
    return reply.code(201).send(userJson(user));
  });

  app.get('/users/:id', { schema: { tags, params: IdParams, response: { 200: UserSchema } } }, async (req) =>
    userJson(found(await ctx.store.getUser(req.principal.accountId, req.params.id), 'user')),
  );

  app.patch('/users/:id', { schema: { tags, params: IdParams, body: UserPatch, response: { 200: UserSchema } } }, async (req) => {
    const cur = found(await ctx.store.getUser(req.principal.accountId, req.params.id), 'user');
    const b = req.body;
    guardOwner(req.principal, cur.role === 'owner' || b.role === 'owner');
    const { password, ...rest } = b;
    const patch = { ...rest, ...(password !== undefined && { passwordHash: await hashPassword(password) }) };
    return userJson(found(await ctx.store.updateUser(req.principal.accountId, cur.id, patch), 'user'));
  });

  app.delete('/users/:id', { schema: { tags, params: IdParams } }, async (req, reply) => {
    const cur = found(await ctx.store.getUser(req.principal.accountId, req.params.id), 'user');
    if (req.principal.kind === 'user' && req.principal.user.id === cur.id) throw new ApiError('conflict', 'you cannot delete yourself');
    guardOwner(req.principal, cur.role === 'owner');
    await ctx.store.deleteUser(req.principal.accountId, cur.id);
    return reply.code(204).send();
  });

  // ── teams ───────────────────────────────────────────────────────────────────────────
  app.get('/teams', { schema: { tags, querystring: PageQuery, response: { 200: pageSchema(TeamSchema) } } }, async (req) => {
    const page = await ctx.store.listTeams(req.principal.accountId, pageOf(req.query));
    return { items: page.items.map(teamJson), next: page.next };
  });
  app.post('/teams', { schema: { tags, body: TeamBody, response: { 201: TeamSchema } } }, async (req, reply) => {
    const now = ctx.clock.now();
    return reply.code(201).send(teamJson(await ctx.store.createTeam(req.principal.accountId, newId('team', now), req.body.name, now)));
  });
  app.get('/teams/:id', { schema: { tags, params: IdParams, response: { 200: TeamSchema } } }, async (req) =>
    teamJson(found(await ctx.store.getTeam(req.principal.accountId, req.params.id), 'team')),
  );
  app.patch('/teams/:id', { schema: { tags, params: IdParams, body: TeamBody, response: { 200: TeamSchema } } }, async (req) =>
    teamJson(found(await ctx.store.updateTeam(req.principal.accountId, req.params.id, req.body.name), 'team')),
  );
  app.delete('/teams/:id', { schema: { tags, params: IdParams } }, async (req, reply) => {
    found(await ctx.store.deleteTeam(req.principal.accountId, req.params.id), 'team');
    return reply.code(204).send();
  });

  // ── API keys ────────────────────────────────────────────────────────────────────────
  app.get('/api-keys', { schema: { tags, querystring: PageQuery, response: { 200: pageSchema(ApiKeySchema) } } }, async (req) => {
    const page = await ctx.store.listApiKeys(req.principal.accountId, pageOf(req.query));
    return { items: page.items.map(apiKeyJson), next: page.next };
  });
  app.post(
    '/api-keys',
    { schema: { tags, summary: 'Create an API key; the secret is shown once', body: ApiKeyBody, response: { 201: Type.Object({ ...ApiKeySchema.properties, secret: Type.String() }) } } },
    async (req, reply) => {
      const now = ctx.clock.now();
      const secret = newSecret(req.body.kind === 'admin' ? 'ska' : 'sks');
      const key = await ctx.store.createApiKey(req.principal.accountId, newId('key', now), req.body, hashToken(secret), now);
      return reply.code(201).send({ ...apiKeyJson(key), secret });
    },
  );
  app.delete('/api-keys/:id', { schema: { tags, params: IdParams } }, async (req, reply) => {
    found(await ctx.store.deleteApiKey(req.principal.accountId, req.params.id), 'API key');
    return reply.code(204).send();
  });
};
