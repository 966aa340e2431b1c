import { useState } from 'preact/hooks';
import { useConsole } from '../context.js';
import { useLoad } from '../hooks.js';
import { dateTime } from '../format.js';
import { Checkbox, CopyButton, SecretOnce, Select, TextField, useAction } from '../components/ui.js';
import { FormCard, Section, useDelete } from '../components/resource.js';
import type { Endpoint, Permissions, Product, Role, Scope, Team, User } from '../types.js';

const SCOPES = [['', 'account default'], ['none', 'none'], ['own', 'own leases'], ['domain', 'whole account']] as const;

export function UsersTab() {
  const { api, login } = useConsole();
  const list = useLoad(async () => {
    const [users, teams] = await Promise.all([api.all<User>('/v1/users').then((r) => r.items), api.all<Team>('/v1/teams').then((r) => r.items)]);
    return { users, teams };
  }, []);
  const del = useDelete(list.reload);
  const [editing, setEditing] = useState<string | null>(null);
  const teamNames = (ids: string[]) => ids.map((id) => list.data?.teams.find((t) => t.id === id)?.name ?? id).join(', ') || '—';
  const perms = (p: Permissions | null) => (p ? `view ${p.view}, control ${p.control}` : 'account default');
  return (
    <Section
      title="Users"
      newLabel="New user"
      form={(close) => <UserForm teams={list.data?.teams ?? []} onDone={() => void list.reload().then(close)} onCancel={close} />}
      error={list.error ?? del.error}
      loading={list.loading && !list.data}
      empty={(list.data?.users ?? []).length === 0}
      emptyText="No users."
    >
      <table>
        <thead>
          <tr>
            <th scope="col">Username</th>
            <th scope="col">Role</th>
            <th scope="col" class="opt">Teams</th>
            <th scope="col">Seat cap</th>
            <th scope="col" class="opt">Permissions</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(list.data?.users ?? []).map((u) =>
            editing === u.id ? (
              <tr key={u.id}>
                <td colSpan={6}>
                  <UserForm user={u} teams={list.data?.teams ?? []} onDone={() => void list.reload().then(() => setEditing(null))} onCancel={() => setEditing(null)} />
                </td>
              </tr>
            ) : (
              <tr key={u.id}>
                <td>
                  {u.username}
                  {u.id === login.user.id && <span class="badge">you</span>}
                </td>
                <td>{u.role}</td>
                <td class="opt">{teamNames(u.teams)}</td>
                <td>{u.maxLeases ?? 'none'}</td>
                <td class="opt">{perms(u.permissions)}</td>
                <td class="actions">
                  <button type="button" onClick={() => setEditing(u.id)} aria-label={`Edit user ${u.username}`}>
                    Edit
                  </button>
                  {u.id !== login.user.id && (
                    <button type="button" class="danger" onClick={() => void del.remove(`/v1/users/${u.id}`, `Delete user ${u.username}?`)} aria-label={`Delete user ${u.username}`}>
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            ),
          )}
        </tbody>
      </table>
    </Section>
  );
}

function UserForm({ user, teams, onDone, onCancel }: { user?: User; teams: Team[]; onDone: () => void; onCancel: () => void }) {
  const { api, login } = useConsole();
  const [f, setF] = useState({
    username: user?.username ?? '',
    password: '',
    role: (user?.role ?? 'member') as Role,
    teams: new Set(user?.teams ?? []),
    maxLeases: user?.maxLeases == null ? '' : String(user.maxLeases),
    view: (user?.permissions?.view ?? '') as Scope | '',
    control: (user?.permissions?.control ?? '') as Scope | '',
  });
  const { busy, error, run } = useAction();
  const submit = async () => {
    const permissions = f.view === '' && f.control === '' ? null : { view: f.view || 'domain', control: f.control || 'own' };
    const body = {
      username: f.username,
      role: f.role,
      teams: Array.from(f.teams),
      maxLeases: f.maxLeases === '' ? null : Number(f.maxLeases),
      permissions,
      ...(f.password && { password: f.password }),
    };
    const ok = await run(() => (user ? api.patch(`/v1/users/${user.id}`, body) : api.post('/v1/users', body)));
    if (ok) onDone();
  };
  const roles: ReadonlyArray<readonly [Role, string]> = [
    ['member', 'member'], ['admin', 'admin'],
    ...(login.user.role === 'owner' || user?.role === 'owner' ? [['owner', 'owner'] as const] : []),
  ];
  return (
    <FormCard title={user ? `Edit ${user.username}` : 'New user'} submit={user ? 'Save' : 'Create user'} busy={busy} error={error} onSubmit={() => void submit()} onCancel={onCancel}>
      <TextField label="Username" value={f.username} onInput={(v) => setF({ ...f, username: v })} required autoComplete="off" />
      <TextField
        label={user ? 'New password' : 'Password'}
        type="password"
        value={f.password}
        onInput={(v) => setF({ ...f, password: v })}
        required={!user}
        minLength={8}
        autoComplete="new-password"
        hint={user ? 'Leave empty to keep the current one' : 'At least 8 characters'}
      />
      <Select label="Role" value={f.role} onChange={(v) => setF({ ...f, role: v })} options={roles} />
      <TextField label="Seat cap" type="number" min={0} value={f.maxLeases} onInput={(v) => setF({ ...f, maxLeases: v })} hint="Most seats held at once; empty: no cap" />
      <Select label="May view leases" value={f.view} onChange={(v) => setF({ ...f, view: v })} options={SCOPES} hint="Override of the account's permissions" />
      <Select label="May end leases" value={f.control} onChange={(v) => setF({ ...f, control: v })} options={SCOPES} hint="Never more than view" />
      <fieldset class="field wide">
        <legend>Teams</legend>
        {teams.length === 0 && <small class="hint">No teams yet.</small>}
        {teams.map((t) => (
          <Checkbox
            key={t.id}
            label={t.name}
            checked={f.teams.has(t.id)}
            onChange={(on) => {
              const next = new Set(f.teams);
              if (on) next.add(t.id);
              else next.delete(t.id);
              setF({ ...f, teams: next });
            }}
          />
        ))}
      </fieldset>
    </FormCard>
  );
}

export function EndpointsTab() {
  const { api } = useConsole();
  const list = useLoad(async () => {
    const [endpoints, products] = await Promise.all([api.all<Endpoint>('/v1/endpoints').then((r) => r.items), api.all<Product>('/v1/products').then((r) => r.items)]);
    return { endpoints, products };
  }, []);
  const del = useDelete(list.reload);
  const toggle = useAction();
  const [created, setCreated] = useState<Endpoint | null>(null);
  const setEnabled = async (e: Endpoint, enabled: boolean) => {
    await toggle.run(() => api.patch(`/v1/endpoints/${e.id}`, { enabled }));
    await list.reload();
  };
  const noProducts = list.data !== undefined && list.data.products.length === 0;
  return (
    <Section
      title="Endpoints"
      newLabel="New endpoint"
      form={
        noProducts
          ? undefined
          : (close) => (
              <EndpointForm
                products={list.data?.products ?? []}
                onDone={(e) => {
                  setCreated(e);
                  close();
                  void list.reload();
                }}
                onCancel={close}
              />
            )
      }
      above={
        created?.key && (
          <SecretOnce
            title={`Endpoint “${created.name}” created`}
            secret={created.key}
            extra={
              created.displayUrl && (
                <p>
                  Display URL (open it on the screen):{' '}
                  {/* Without --public-url the server answers a path; make it a whole URL. */}
                  <CopyButton text={new URL(created.displayUrl, location.origin).href} label="Copy display URL" />
                </p>
              )
            }
            onClose={() => setCreated(null)}
          />
        )
      }
      error={list.error ?? del.error ?? toggle.error}
      loading={list.loading && !list.data}
      empty={(list.data?.endpoints ?? []).length === 0}
      emptyText={noProducts ? 'Create a product first.' : 'No endpoints. An endpoint is an unattended screen or kiosk; it holds a seat through its display URL.'}
    >
      <p class="muted small">The key and display URL are shown once, when an endpoint is created; the server keeps only a hash of the key.</p>
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Product</th>
            <th scope="col">State</th>
            <th scope="col" class="opt">Created</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(list.data?.endpoints ?? []).map((e) => (
            <tr key={e.id}>
              <td>{e.name}</td>
              <td>{e.product}</td>
              <td>
                <span class={`badge ${e.enabled ? 'st-active' : 'st-ended'}`}>{e.enabled ? 'enabled' : 'disabled'}</span>
              </td>
              <td class="opt">{dateTime(e.createdAt)}</td>
              <td class="actions">
                <button type="button" disabled={toggle.busy} onClick={() => void setEnabled(e, !e.enabled)} aria-label={`${e.enabled ? 'Disable' : 'Enable'} endpoint ${e.name}`}>
                  {e.enabled ? 'Disable' : 'Enable'}
                </button>
                <button type="button" class="danger" onClick={() => void del.remove(`/v1/endpoints/${e.id}`, `Delete endpoint ${e.name}? Its screen loses its seat.`)} aria-label={`Delete endpoint ${e.name}`}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

function EndpointForm({ products, onDone, onCancel }: { products: Product[]; onDone: (e: Endpoint) => void; onCancel: () => void }) {
  const { api } = useConsole();
  const [product, setProduct] = useState(products[0]?.key ?? '');
  const [name, setName] = useState('');
  const [enabled, setEnabled] = useState(true);
  const { busy, error, run } = useAction();
  const submit = async () => {
    const e = await run(() => api.post<Endpoint>('/v1/endpoints', { product, name, enabled }));
    if (e) onDone(e);
  };
  return (
    <FormCard title="New endpoint" submit="Create endpoint" busy={busy} error={error} onSubmit={() => void submit()} onCancel={onCancel}>
      <Select label="Product" value={product} onChange={setProduct} options={products.map((p) => [p.key, p.key] as const)} />
      <TextField label="Name" value={name} onInput={setName} required placeholder="Lobby TV" />
      <Checkbox label="Enabled" checked={enabled} onChange={setEnabled} />
    </FormCard>
  );
}
