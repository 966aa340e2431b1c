import { useConsole } from '../context.js';
import { useLoad } from '../hooks.js';
import { dateTime, splitList } from '../format.js';
import { Checkbox, SecretOnce, TextField } from '../components/ui.js';
import { EditDelete, FormCard, Section, listState, useCreateOnce, useDelete, useFields, useInlineEdit } from '../components/resource.js';
import { DataTable, type Column } from '../components/table.js';
import { DeliveryLog } from '../components/deliveries.js';
import type { Webhook } from '../types.js';

const ALL = '*';
const eventsText = (events: string[]) => (events.includes(ALL) ? 'all events' : events.join(', '));

/** Webhooks (docs/metering.md "Delivery"): where events are POSTed, signed with a secret shown once. */
export function WebhooksTab() {
  const { api, route, navigate, timeZone } = useConsole();
  const list = useLoad(() => api.all<Webhook>('/v1/webhooks').then((r) => r.items), []);
  const del = useDelete(list.reload);
  const edit = useInlineEdit(list.reload);
  const once = useCreateOnce<Webhook>(list.reload);
  const created = once.created;
  const log = route.query.log;
  const showLog = (id: string | undefined) => navigate('/setup/webhooks', { log: id });
  const columns: Column<Webhook>[] = [
    { head: 'URL', cell: (w) => <span class="mono break">{w.url}</span> },
    { head: 'Events', cell: (w) => eventsText(w.events) },
    { head: 'State', cell: (w) => <span class={`badge ${w.enabled ? 'st-active' : 'st-ended'}`}>{w.enabled ? 'enabled' : 'disabled'}</span> },
    { head: 'Created', cell: (w) => (w.createdAt ? dateTime(w.createdAt, timeZone) : '—'), opt: true },
    {
      head: 'Actions',
      actions: true,
      cell: (w) => (
        <>
          <button type="button" aria-pressed={log === w.id} onClick={() => showLog(log === w.id ? undefined : w.id)} aria-label={`Deliveries to ${w.url}`}>
            Deliveries
          </button>
          <EditDelete what={`webhook ${w.url}`} onEdit={() => edit.start(w.id)} onDelete={() => void del.remove(`/v1/webhooks/${w.id}`, `Delete the webhook to ${w.url}? Its delivery log goes with it.`)} />
        </>
      ),
    },
  ];
  return (
    <Section
      title="Webhooks"
      newLabel="New webhook"
      form={once.form((onDone, onCancel) => <WebhookForm onDone={onDone} onCancel={onCancel} />)}
      above={
        created?.secret && (
          <SecretOnce
            title={`Webhook to ${created.url} created`}
            secret={created.secret}
            note="Copy the signing secret now: it is shown only this once. Your receiver recomputes each delivery's Seatkeeper-Signature (HMAC-SHA256) with it."
            onClose={once.clear}
          />
        )
      }
      {...listState(list, list.data, del.error)}
      emptyText="No webhooks. A webhook receives events (alerts, leases granted and ended, …) as signed POST requests, retried with backoff when it fails."
    >
      <DataTable
        rows={list.data ?? []}
        columns={columns}
        rowKey={(w) => w.id}
        caption="Webhooks"
        rowCards
        attrs={(w) => ({ 'data-webhook-id': w.id })}
        inline={(w) => edit.form(w.id, (onDone, onCancel) => <WebhookForm webhook={w} onDone={onDone} onCancel={onCancel} />)}
        below={(w) =>
          log === w.id && <DeliveryLog path={`/v1/webhooks/${w.id}/deliveries`} title={`Deliveries to ${w.url}`} emptyText="Nothing has been sent to this webhook yet." />
        }
      />
    </Section>
  );
}

function WebhookForm({ webhook, onDone, onCancel }: { webhook?: Webhook; onDone: (w: Webhook) => void; onCancel: () => void }) {
  const { api } = useConsole();
  const { f, set, busy, error, run } = useFields({
    url: webhook?.url ?? '',
    all: webhook ? webhook.events.includes(ALL) : false,
    events: webhook && !webhook.events.includes(ALL) ? webhook.events.join(', ') : 'alert',
    secret: '',
    enabled: webhook?.enabled ?? true,
  });
  const submit = async () => {
    const body = { url: f.url.trim(), events: f.all ? [ALL] : splitList(f.events), enabled: f.enabled };
    const w = await run(() => (webhook ? api.patch<Webhook>(`/v1/webhooks/${webhook.id}`, body) : api.post<Webhook>('/v1/webhooks', { ...body, ...(f.secret && { secret: f.secret }) })));
    if (w) onDone(w);
  };
  return (
    <FormCard title={webhook ? `Edit webhook to ${webhook.url}` : 'New webhook'} submit={webhook ? 'Save' : 'Create webhook'} busy={busy} error={error} onSubmit={() => void submit()} onCancel={onCancel}>
      <TextField label="URL" type="url" wide value={f.url} onInput={set('url')} required placeholder="https://example.org/seatkeeper" hint="Each event is POSTed here as JSON" />
      <Checkbox label="All events" checked={f.all} onChange={set('all')} />
      {!f.all && <TextField label="Events" value={f.events} onInput={set('events')} required hint="Comma-separated, e.g. alert, lease.granted, lease.ended, denial" />}
      {!webhook && <TextField label="Signing secret" value={f.secret} onInput={set('secret')} minLength={16} autoComplete="off" hint="At least 16 characters; empty: the server makes one" />}
      <Checkbox label="Enabled" checked={f.enabled} onChange={set('enabled')} />
    </FormCard>
  );
}
