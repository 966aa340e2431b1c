import { useState } from 'preact/hooks';
import { useConsole } from '../context.js';
import { useLoad } from '../hooks.js';
import { dateTime } from '../format.js';
import { PageHead, SecretOnce, Select, TextField, useAction, useTabs } from '../components/ui.js';
import { FormCard, Section, useDelete } from '../components/resource.js';
import type { ApiKey, Team } from '../types.js';
import { LicensesTab, ProductsTab } from './setup-catalog.js';
import { EndpointsTab, UsersTab } from './setup-people.js';
import { SettingsTab } from './settings.js';
import { WebhooksTab } from './setup-webhooks.js';

const TABS = [
  ['products', 'Products'], ['licenses', 'Licenses'], ['teams', 'Teams'], ['users', 'Users'],
  ['endpoints', 'Endpoints'], ['webhooks', 'Webhooks'], ['api-keys', 'API keys'], ['settings', 'Settings'],
] as const;

/** Everything an administrator configures, one tab per resource of API.md "Account set-up". */
export function SetupPage() {
  const { tab, nav } = useTabs('/setup', 'Set-up', TABS);
  return (
    <>
      <PageHead title="Set-up" />
      {nav}
      {tab === 'products' && <ProductsTab />}
      {tab === 'licenses' && <LicensesTab />}
      {tab === 'teams' && <TeamsTab />}
      {tab === 'users' && <UsersTab />}
      {tab === 'endpoints' && <EndpointsTab />}
      {tab === 'webhooks' && <WebhooksTab />}
      {tab === 'api-keys' && <ApiKeysTab />}
      {tab === 'settings' && <SettingsTab />}
    </>
  );
}

function TeamsTab() {
  const { api } = useConsole();
  const list = useLoad(() => api.all<Team>('/v1/teams').then((r) => r.items), []);
  const del = useDelete(list.reload);
  const [editing, setEditing] = useState<string | null>(null);
  return (
    <Section
      title="Teams"
      newLabel="New team"
      form={(close) => <TeamForm onDone={() => void list.reload().then(close)} onCancel={close} />}
      error={list.error ?? del.error}
      loading={list.loading && !list.data}
      empty={(list.data ?? []).length === 0}
      emptyText="No teams. A license assigned to a team may be used only by its members."
    >
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Created</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(list.data ?? []).map((t) =>
            editing === t.id ? (
              <tr key={t.id}>
                <td colSpan={3}>
                  <TeamForm team={t} onDone={() => void list.reload().then(() => setEditing(null))} onCancel={() => setEditing(null)} />
                </td>
              </tr>
            ) : (
              <tr key={t.id}>
                <td>{t.name}</td>
                <td>{dateTime(t.createdAt)}</td>
                <td class="actions">
                  <button type="button" onClick={() => setEditing(t.id)} aria-label={`Rename team ${t.name}`}>
                    Rename
                  </button>
                  <button type="button" class="danger" onClick={() => void del.remove(`/v1/teams/${t.id}`, `Delete team ${t.name}?`)} aria-label={`Delete team ${t.name}`}>
                    Delete
                  </button>
                </td>
              </tr>
            ),
          )}
        </tbody>
      </table>
    </Section>
  );
}

function TeamForm({ team, onDone, onCancel }: { team?: Team; onDone: () => void; onCancel: () => void }) {
  const { api } = useConsole();
  const [name, setName] = useState(team?.name ?? '');
  const { busy, error, run } = useAction();
  const submit = async () => {
    const ok = await run(() => (team ? api.patch(`/v1/teams/${team.id}`, { name }) : api.post('/v1/teams', { name })));
    if (ok) onDone();
  };
  return (
    <FormCard title={team ? `Rename ${team.name}` : 'New team'} submit={team ? 'Save' : 'Create team'} busy={busy} error={error} onSubmit={() => void submit()} onCancel={onCancel}>
      <TextField label="Name" value={name} onInput={setName} required maxLength={200} />
    </FormCard>
  );
}

function ApiKeysTab() {
  const { api } = useConsole();
  const list = useLoad(() => api.all<ApiKey>('/v1/api-keys').then((r) => r.items), []);
  const del = useDelete(list.reload);
  const [created, setCreated] = useState<ApiKey | null>(null);
  return (
    <Section
      title="API keys"
      newLabel="New API key"
      form={(close) => (
        <ApiKeyForm
          onDone={(k) => {
            setCreated(k);
            close();
            void list.reload();
          }}
          onCancel={close}
        />
      )}
      above={created?.secret && <SecretOnce title={`API key “${created.name}” (${created.kind})`} secret={created.secret} onClose={() => setCreated(null)} />}
      error={list.error ?? del.error}
      loading={list.loading && !list.data}
      empty={(list.data ?? []).length === 0}
      emptyText="No API keys. An admin key manages the account from scripts; a service key starts sessions on behalf of any user (a vendor's backend)."
    >
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Kind</th>
            <th scope="col">Created</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(list.data ?? []).map((k) => (
            <tr key={k.id}>
              <td>{k.name}</td>
              <td>{k.kind}</td>
              <td>{dateTime(k.createdAt)}</td>
              <td class="actions">
                <button type="button" class="danger" onClick={() => void del.remove(`/v1/api-keys/${k.id}`, `Revoke API key ${k.name}? Programs using it stop working.`)} aria-label={`Revoke API key ${k.name}`}>
                  Revoke
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

function ApiKeyForm({ onDone, onCancel }: { onDone: (k: ApiKey) => void; onCancel: () => void }) {
  const { api } = useConsole();
  const [name, setName] = useState('');
  const [kind, setKind] = useState<'admin' | 'service'>('service');
  const { busy, error, run } = useAction();
  const submit = async () => {
    const k = await run(() => api.post<ApiKey>('/v1/api-keys', { name, kind }));
    if (k) onDone(k);
  };
  return (
    <FormCard title="New API key" submit="Create key" busy={busy} error={error} onSubmit={() => void submit()} onCancel={onCancel}>
      <TextField label="Name" value={name} onInput={setName} required maxLength={200} />
      <Select
        label="Kind"
        value={kind}
        onChange={setKind}
        options={[['service', 'service: starts sessions for any user'], ['admin', 'admin: manages the account']]}
      />
    </FormCard>
  );
}
