import type { ComponentChildren } from 'preact';
import { useConsole } from '../context.js';
import { useLoad, useNow } from '../hooks.js';
import { ago, countdown, dateTime } from '../format.js';
import type { Delivery } from '../types.js';
import { listState, Section } from './resource.js';
import { DataTable, type Column } from './table.js';

const STATUS_CLASS = { delivered: 'st-active', pending: 'st-paused', failed: 'st-failed' } as const;

/**
 * A delivery log (the outbox of docs/metering.md): e-mails of the alerts, or the events
 * sent to one webhook, newest first, with each one's attempts and last answer.
 */
export function DeliveryLog({ path, title, emptyText, intro }: { path: string; title: string; emptyText: ComponentChildren; intro?: ComponentChildren }) {
  const { api, timeZone } = useConsole();
  const now = useNow(1000);
  const list = useLoad(
    () => api.all<Delivery>(path, {}, 2).then((r) => ({ more: r.more, items: [...r.items].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id)) })),
    [path],
    true,
  );
  const columns: Column<Delivery>[] = [
    { head: 'Created', cell: (d) => <span title={dateTime(d.createdAt, timeZone)}>{ago(d.createdAt, now)}</span> },
    { head: 'Type', cell: (d) => <code>{d.type}</code> },
    { head: 'Status', cell: (d) => <span class={`badge ${STATUS_CLASS[d.status] ?? ''}`}>{d.status}</span> },
    { head: 'Attempts', cell: (d) => d.attempts, opt: true },
    {
      head: 'Last answer',
      cell: (d) => (
        <>
          {d.lastStatus !== null && <code>HTTP {d.lastStatus}</code>} {d.lastError && <span class="muted small">{d.lastError}</span>}
          {d.lastStatus === null && !d.lastError && '—'}
        </>
      ),
    },
    { head: 'Delivered / next try', cell: (d) => nextOrDone(d, now, timeZone) },
  ];
  return (
    <Section
      title={title}
      actions={
        <button type="button" onClick={() => void list.reload()} disabled={list.loading}>
          Refresh
        </button>
      }
      above={intro}
      {...listState(list, list.data?.items)}
      emptyText={emptyText}
    >
      <DataTable rows={list.data?.items ?? []} columns={columns} rowKey={(d) => d.id} caption={title} rowCards attrs={(d) => ({ 'data-delivery-status': d.status })} />
      {list.data?.more && <p class="muted small">Showing the first {list.data.items.length}; older ones are not listed.</p>}
    </Section>
  );
}

function nextOrDone(d: Delivery, now: number, timeZone: string | undefined): ComponentChildren {
  if (d.status === 'delivered') return d.deliveredAt ? dateTime(d.deliveredAt, timeZone) : 'delivered';
  if (d.status === 'failed') return <span class="muted">gave up</span>;
  if (!d.nextAttemptAt) return '—';
  return Date.parse(d.nextAttemptAt) <= now ? 'due now' : <>in {countdown(d.nextAttemptAt, now)}</>;
}
