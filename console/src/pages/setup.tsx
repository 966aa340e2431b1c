import { useState } from 'preact/hooks';
import { useConsole } from '../context.js';
import { useLoad } from '../hooks.js';
import { dateTime } from '../format.js';
import { PageHead, SecretOnce, Select, TextField, useAction, useTabs } from '../components/ui.js';
import { EditDelete, FormCard, Section, listState, useCreateOnce, useDelete, useInlineEdit } from '../components/resource.js';
import { DataTable, type Column } from '../components/table.js';
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
  const edit = useInlineEdit(list.reload);
  const columns: Column<Team>[] = [
    { head: 'Name', cell: (t) => t.name },
    { head: 'Created', cell: (t) => dateTime(t.createdAt) },
    {
      head: 'Actions',
      actions: true,
      cell: (t) => (
        <>
          <EditDelete what={`team ${t.name}`} edit="Rename" onEdit={() => edit.start(t.id)} onDelete={() => void del.remove(`/v1/teams/${t.id}`, `Delete team ${t.name}?`)} />
        </>
      ),
    },
  ];
  return (
    <Section
      title="Teams"
      newLabel="New team"
      form={(close) => <TeamForm onDone={() => void list.reload().then(close)} onCancel={close} />}
      {...listState(list, list.data, del.error)}
      emptyText="No teams. A license assigned to a team may be used only by its members."
    >
      <DataTable
        rows={list.data ?? []}
        columns={columns}
        rowKey={(t) => t.id}
        inline={(t) => edit.form(t.id, (onDone, onCancel) => <TeamForm team={t} onDone={onDone} onCancel={onCancel} />)}
      />
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
  const once = useCreateOnce<ApiKey>(list.reload);
  const created = once.created;
  const columns: Column<ApiKey>[] = [
    { head: 'Name', cell: (k) => k.name },
    { head: 'Kind', cell: (k) => k.kind },
    { head: 'Created', cell: (k) => dateTime(k.createdAt) },
    {
      head: 'Actions',
      actions: true,
      cell: (k) => (
        <EditDelete what={`API key ${k.name}`} remove="Revoke" onDelete={() => void del.remove(`/v1/api-keys/${k.id}`, `Revoke API key ${k.name}? Programs using it stop working.`)} />
      ),
    },
  ];
  return (
    <Section
      title="API keys"
      newLabel="New API key"
      form={once.form((onDone, onCancel) => <ApiKeyForm onDone={onDone} onCancel={onCancel} />)}
      above={created?.secret && <SecretOnce title={`API key “${created.name}” (${created.kind})`} secret={created.secret} onClose={once.clear} />}
      {...listState(list, list.data, del.error)}
      emptyText="No API keys. An admin key manages the account from scripts; a service key starts sessions on behalf of any user (a vendor's backend)."
    >
      <DataTable rows={list.data ?? []} columns={columns} rowKey={(k) => k.id} />
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
