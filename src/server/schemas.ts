/**
 * Request and response schemas. They validate input, type the handlers (TypeBox type
 * provider) and generate /openapi.json, so the three cannot drift apart.
 */
import { Type, type Static, type TSchema } from 'typebox';

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
export const Iso = Type.String({ format: 'date-time' });
const Scope = Type.Union([Type.Literal('none'), Type.Literal('own'), Type.Literal('domain')]);
export const PermissionsSchema = Type.Object({ view: Scope, control: Scope }, { additionalProperties: false });
export const RoleSchema = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member')]);
export const SeatModelSchema = Type.Union([Type.Literal('session'), Type.Literal('user-device'), Type.Literal('user'), Type.Literal('device')]);
const Seconds = (max = 31_536_000) => Type.Number({ minimum: 0, maximum: max });
export const HeartbeatSchema = Type.Object(
  { interval: Type.Number({ minimum: 1, maximum: 86_400 }), timeout: Type.Number({ minimum: 1, maximum: 604_800 }) },
  { additionalProperties: false },
);
const Name = Type.String({ minLength: 1, maxLength: 200 });
const Key = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' });

export const ProblemSchema = Type.Object(
  { type: Type.String(), title: Type.String(), status: Type.Integer(), detail: Type.String(), code: Type.String() },
  { additionalProperties: true, $id: 'Problem' },
);

export const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
});
export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
export const pageOf = <T extends TSchema>(item: T) => Type.Object({ items: Type.Array(item), next: Nullable(Type.String()) });

// ── leases and sessions ─────────────────────────────────────────────────────────────────
export const LeaseSchema = Type.Object({
  id: Type.String(),
  product: Type.String(),
  license: Nullable(Type.String()),
  kind: Type.String(),
  status: Type.String(),
  user: Nullable(Type.String()),
  device: Nullable(Type.String()),
  endpoint: Nullable(Type.String()),
  joinCode: Type.String(),
  hold: Type.String(),
  sessions: Type.Integer(),
  clientType: Nullable(Type.String()),
  channel: Nullable(Type.String()),
  platform: Nullable(Type.String()),
  meta: Nullable(Type.Object({}, { additionalProperties: true })),
  startedAt: Iso,
  endsAt: Nullable(Iso),
  endedAt: Nullable(Iso),
  endReason: Nullable(Type.String()),
});

export const AcquireBody = Type.Object(
  {
    product: Type.Optional(Key),
    device: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    user: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    clientType: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })),
    channel: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })),
    platform: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })),
    join: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })),
    hold: Type.Optional(Type.Union([Type.Literal('heartbeat'), Type.Literal('until-reset')])),
    standby: Type.Optional(Type.Boolean()),
    wait: Type.Optional(Type.Boolean()),
    flex: Type.Optional(Type.Boolean()),
    ppu: Type.Optional(Type.Boolean()),
    meta: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { additionalProperties: false },
);
export type AcquireBodyT = Static<typeof AcquireBody>;

export const SessionSchema = Type.Object({
  id: Type.String(),
  token: Type.String(),
  heartbeatInterval: Type.Number(),
  heartbeatTimeout: Type.Number(),
  expiresAt: Iso,
});

export const TicketSchema = Type.Object({ id: Type.String(), token: Type.String(), position: Type.Integer(), expiresAt: Iso });

export const LeaseQuery = Type.Object({
  ...PageQuery.properties,
  product: Type.Optional(Type.String({ maxLength: 100 })),
  status: Type.Optional(Type.Union(['active', 'standby', 'paused', 'terminating', 'ended'].map((s) => Type.Literal(s)))),
  user: Type.Optional(Type.String({ maxLength: 100 })),
  team: Type.Optional(Type.String({ maxLength: 100 })),
});

// ── set-up resources ────────────────────────────────────────────────────────────────────
export const SettingsSchema = Type.Object({
  timezone: Type.String(),
  dailyReset: Type.String(),
  flexMax: Type.Integer(),
  ppu: Type.Object({ enabled: Type.Boolean(), balanceMinutes: Type.Number(), lowThreshold: Type.Number() }),
  permissions: PermissionsSchema,
  alertRecipients: Type.String(),
  alertCheckInterval: Type.Number(),
});
export const SettingsPatch = Type.Object(
  {
    timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    dailyReset: Type.Optional(Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' })),
    flexMax: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
    ppu: Type.Optional(
      Type.Object(
        { enabled: Type.Optional(Type.Boolean()), lowThreshold: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })) },
        { additionalProperties: false },
      ),
    ),
    permissions: Type.Optional(PermissionsSchema),
    alertRecipients: Type.Optional(Type.String({ maxLength: 2000 })),
    alertCheckInterval: Type.Optional(Type.Integer({ minimum: 10, maximum: 86_400 })),
  },
  { additionalProperties: false },
);

export const UserSchema = Type.Object({
  id: Type.String(),
  username: Type.String(),
  role: Type.String(),
  teams: Type.Array(Type.String()),
  maxLeases: Nullable(Type.Integer()),
  permissions: Nullable(PermissionsSchema),
  createdAt: Iso,
});
const Password = Type.String({ minLength: 8, maxLength: 200 });
const UserFields = {
  username: Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\s]+$' }),
  password: Password,
  role: RoleSchema,
  teams: Type.Array(Type.String({ maxLength: 100 }), { maxItems: 100 }),
  maxLeases: Nullable(Type.Integer({ minimum: 0, maximum: 100_000 })),
  permissions: Nullable(PermissionsSchema),
};
export const UserCreate = Type.Object(
  {
    username: UserFields.username,
    password: UserFields.password,
    role: Type.Optional(UserFields.role),
    teams: Type.Optional(UserFields.teams),
    maxLeases: Type.Optional(UserFields.maxLeases),
    permissions: Type.Optional(UserFields.permissions),
  },
  { additionalProperties: false },
);
export const UserPatch = Type.Partial(Type.Object(UserFields, { additionalProperties: false }));

export const TeamSchema = Type.Object({ id: Type.String(), name: Type.String(), createdAt: Iso });
export const TeamBody = Type.Object({ name: Name }, { additionalProperties: false });

export const ApiKeySchema = Type.Object({ id: Type.String(), name: Type.String(), kind: Type.String(), createdAt: Iso, secret: Type.Optional(Type.String()) });
export const ApiKeyBody = Type.Object({ name: Name, kind: Type.Union([Type.Literal('admin'), Type.Literal('service')]) }, { additionalProperties: false });

const ProductFields = {
  key: Key,
  name: Name,
  seatModel: SeatModelSchema,
  heartbeat: HeartbeatSchema,
  clientTypes: Type.Record(Type.String({ pattern: '^[A-Za-z0-9._-]{1,50}$' }), HeartbeatSchema),
  linger: Seconds(86_400),
  standbyTimeout: Nullable(Seconds()),
  flex: Type.Object(
    { channels: Type.Array(Type.String({ minLength: 1, maxLength: 50 }), { maxItems: 20 }), duration: Type.Number({ minimum: 1, maximum: 604_800 }) },
    { additionalProperties: false },
  ),
  activationWindow: Type.Number({ minimum: 1, maximum: 315_360_000 }),
  quota: Nullable(Type.Object({ units: Type.Number({ minimum: 0 }), overage: Type.Number({ minimum: 0, maximum: 1000 }) }, { additionalProperties: false })),
};
export const ProductSchema = Type.Object({ id: Type.String(), ...ProductFields, quotaUsed: Type.Integer(), createdAt: Iso });
export const ProductCreate = Type.Object(
  {
    key: ProductFields.key,
    name: Type.Optional(ProductFields.name),
    seatModel: Type.Optional(ProductFields.seatModel),
    heartbeat: Type.Optional(ProductFields.heartbeat),
    clientTypes: Type.Optional(ProductFields.clientTypes),
    linger: Type.Optional(ProductFields.linger),
    standbyTimeout: Type.Optional(ProductFields.standbyTimeout),
    flex: Type.Optional(ProductFields.flex),
    activationWindow: Type.Optional(ProductFields.activationWindow),
    quota: Type.Optional(ProductFields.quota),
  },
  { additionalProperties: false },
);
export const ProductPatch = Type.Partial(Type.Object(ProductFields, { additionalProperties: false }));

const LicenseFields = {
  product: Key,
  seats: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
  name: Nullable(Type.String({ maxLength: 200 })),
  team: Nullable(Type.String({ maxLength: 100 })),
  platform: Nullable(Type.String({ minLength: 1, maxLength: 50 })),
  overage: Type.Number({ minimum: 0, maximum: 1000 }),
  startsAt: Nullable(Iso),
  expiresAt: Nullable(Iso),
  enforcement: Type.Union([Type.Literal('hard'), Type.Literal('soft')]),
  window: Type.Integer({ minimum: 1, maximum: 86_400 }),
  exceptionQuota: Nullable(Type.Integer({ minimum: 0 })),
};
export const LicenseSchema = Type.Object({
  id: Type.String(), ...LicenseFields, inUse: Type.Integer(), exceptions: Type.Integer(), suspended: Type.Boolean(), suspendedAt: Nullable(Iso), createdAt: Iso,
});
export const LicenseCreate = Type.Object(
  {
    product: LicenseFields.product,
    seats: LicenseFields.seats,
    name: Type.Optional(LicenseFields.name),
    team: Type.Optional(LicenseFields.team),
    platform: Type.Optional(LicenseFields.platform),
    overage: Type.Optional(LicenseFields.overage),
    startsAt: Type.Optional(LicenseFields.startsAt),
    expiresAt: Type.Optional(LicenseFields.expiresAt),
    enforcement: Type.Optional(LicenseFields.enforcement),
    window: Type.Optional(LicenseFields.window),
    exceptionQuota: Type.Optional(LicenseFields.exceptionQuota),
  },
  { additionalProperties: false },
);
export const LicensePatch = Type.Partial(Type.Object(LicenseFields, { additionalProperties: false }));

export const EndpointSchema = Type.Object({
  id: Type.String(),
  product: Type.String(),
  name: Type.String(),
  enabled: Type.Boolean(),
  createdAt: Iso,
  key: Type.Optional(Type.String()),
  displayUrl: Type.Optional(Type.String()),
});
export const EndpointCreate = Type.Object({ product: Key, name: Name, enabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
export const EndpointPatch = Type.Object({ name: Type.Optional(Name), enabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false });

// ── usage ───────────────────────────────────────────────────────────────────────────────
export const UsageSchema = Type.Object({
  products: Type.Array(
    Type.Object({
      product: Type.String(),
      capacity: Type.Integer(),
      inUse: Type.Integer(),
      free: Type.Integer(),
      overage: Type.Integer(),
      flex: Type.Object({ inUse: Type.Integer(), max: Type.Integer() }),
      ppu: Type.Object({ inUse: Type.Integer(), balanceMinutes: Type.Number() }),
      queued: Type.Integer(),
      paused: Type.Integer(),
      standby: Type.Integer(),
      peakToday: Type.Integer(),
      units: Type.Optional(Type.Object({ used: Type.Integer(), quota: Type.Number(), limit: Type.Integer() })),
      licenses: Type.Array(
        Type.Object({
          id: Type.String(),
          name: Nullable(Type.String()),
          team: Nullable(Type.String()),
          platform: Nullable(Type.String()),
          seats: Type.Integer(),
          inUse: Type.Integer(),
        }),
      ),
    }),
  ),
});
