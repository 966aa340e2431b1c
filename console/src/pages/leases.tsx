import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api } from '../api.js';
import { useConsole } from '../context.js';
import { useLoad, useNow } from '../hooks.js';
import { ago, countdown, dateTime, shortId } from '../format.js';
import { Empty, Loading, Notice, ProblemBox, Select, TextField, useAction } from '../components/ui.js';
import type { Lease, LeaseKind, Team, Usage, User } from '../types.js';

const STATUS_OPTIONS = [
  ['live', 'Live (not ended)'], ['active', 'Active'], ['terminating', 'Terminating'], ['standby', 'Standby'],
  ['paused', 'Paused'], ['ended', 'Ended'],
] as const;
const KIND_OPTIONS = [['', 'Any kind'], ['regular', 'Regular'], ['overage', 'Overage'], ['flex', 'Flex'], ['ppu', 'Pay-per-use']] as const;
const PAGE = 200;

interface Lookups {
  products: string[];
  users: Map<string, User>;
  teams: Team[];
}

async function fetchLeases(api: Api, q: Record<string, string | undefined>, status: string, pages: number): Promise<{ items: Lease[]; more: boolean }> {
  // Without a status the API lists the leases not ended yet ("live").
  const page = await api.get<{ items: Lease[]; next: string | null }>('/v1/leases', { ...q, status: status === 'live' ? undefined : status, limit: Math.min(1000, PAGE * pages) });
  return { items: page.items, more: page.next !== null };
}

/** SPEC §7 "Leases": filtered by permission server-side; end selected, release, pause/resume own. */
export function LeasesPage() {
  const { api, admin, login, route, navigate, timeZone } = useConsole();
  const q = route.query;
  const mine = q.mine === '1';
  const status = q.status ?? 'live';
  const kind = (q.kind ?? '') as LeaseKind | '';
  const [pages, setPages] = useState(1);
  const now = useNow(1000);
  const me = login.user.id;

  const lookups = useLoad<Lookups>(
    async () => {
      const usage = await api.get<Usage>('/v1/usage').catch(() => ({ products: [] }) as Usage);
      const users = admin ? (await api.all<User>('/v1/users').catch(() => ({ items: [] as User[] }))).items : [];
      const teams = admin ? (await api.all<Team>('/v1/teams').catch(() => ({ items: [] as Team[] }))).items : [];
      return { products: usage.products.map((p) => p.product), users: new Map(users.map((u) => [u.id, u])), teams };
    },
    [admin],
  );

  const filter = { product: q.product, team: mine ? undefined : q.team, user: mine ? me : q.user };
  const leases = useLoad(() => fetchLeases(api, filter, status, pages), [filter.product, filter.team, filter.user, status, pages], true);
  const rows = (leases.data?.items ?? []).filter((l) => !kind || l.kind === kind);

  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [message, setMessage] = useState<string | null>(null);
  const action = useAction();
  const dialog = useRef<HTMLDialogElement>(null);

  // Selection follows what is shown: a lease that left the table is no longer selected.
  useEffect(() => {
    const shown = new Set(rows.map((l) => l.id));
    setSelected((s) => (Array.from(s).every((id) => shown.has(id)) ? s : new Set(Array.from(s).filter((id) => shown.has(id)))));
  }, [leases.data]);

  const setFilter = (k: string, v: string) => navigate('/leases', { ...q, [k]: v || undefined });
  const userName = (id: string | null) => (id === null ? '—' : id === me ? `${login.user.username} (you)` : (lookups.data?.users.get(id)?.username ?? shortId(id)));
  const selectable = rows.filter((l) => l.status !== 'ended');
  const allSelected = selectable.length > 0 && selectable.every((l) => selected.has(l.id));
  const toggle = (id: string) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });

  const release = async (l: Lease) => {
    setMessage(null);
    const after = await action.run(() => api.post<Lease>(`/v1/leases/${encodeURIComponent(l.id)}/release`));
    if (!after) return;
    setMessage(
      after.status === 'ended'
        ? `Released lease ${shortId(l.id)} (${userName(l.user)}${l.device ? `, ${l.device}` : ''}).`
        : `Lease ${shortId(l.id)} is still held by ${after.sessions} running session(s): it is released when they close. To stop them now, select it and use “End selected sessions”.`,
    );
    await leases.reload();
  };

  const pauseOrResume = async (l: Lease, verb: 'pause' | 'resume') => {
    setMessage(null);
    const after = await action.run(() => api.post<Lease>(`/v1/leases/${encodeURIComponent(l.id)}/${verb}`));
    if (after) setMessage(`Lease ${shortId(l.id)} is now ${after.status}.`);
    await leases.reload();
  };

  return (
    <>
      <div class="page-head">
        <h1 tabIndex={-1}>{mine ? 'My leases' : 'Leases'}</h1>
        {mine ? (
          <a href="#/leases" class="small">
            Show all leases I may see
          </a>
        ) : (
          <a href="#/leases?mine=1" class="small">
            Only mine
          </a>
        )}
      </div>
      {mine && (
        <p class="muted">
          Your own leases. If you were refused a seat, release one you no longer use (a seat on another computer, say) and try again.
        </p>
      )}
      <form class="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <Select label="Product" value={q.product ?? ''} onChange={(v) => setFilter('product', v)} options={[['', 'All products'], ...(lookups.data?.products ?? []).map((p) => [p, p] as const)]} />
        {!mine && admin && (
          <Select
            label="User"
            value={q.user ?? ''}
            onChange={(v) => setFilter('user', v)}
            options={[['', 'Anyone'], ...Array.from(lookups.data?.users.values() ?? []).map((u) => [u.id, u.username] as const)]}
          />
        )}
        {!mine && admin && (
          <Select label="Team" value={q.team ?? ''} onChange={(v) => setFilter('team', v)} options={[['', 'Any team'], ...(lookups.data?.teams ?? []).map((t) => [t.id, t.name] as const)]} />
        )}
        <Select label="Status" value={status} onChange={(v) => setFilter('status', v === 'live' ? '' : v)} options={STATUS_OPTIONS} />
        <Select label="Kind" value={kind} onChange={(v) => setFilter('kind', v)} options={KIND_OPTIONS} />
      </form>

      <div class="toolbar" role="toolbar" aria-label="Selected leases">
        <span class="muted small">{selected.size > 0 ? `${selected.size} selected` : `${rows.length} lease(s)`}</span>
        <button type="button" class="danger" disabled={selected.size === 0} onClick={() => dialog.current?.showModal()}>
          End selected sessions
        </button>
      </div>

      {message && <Notice onClose={() => setMessage(null)}>{message}</Notice>}
      <ProblemBox error={action.error} />
      <ProblemBox error={leases.error} />
      {leases.loading && !leases.data && <Loading what="Loading leases" />}
      {leases.data && rows.length === 0 && <Empty>{mine ? 'You hold no leases that match.' : 'No leases match these filters.'}</Empty>}
      {rows.length > 0 && (
        <div class="table-wrap">
          <table class="leases">
            <caption class="sr-only">Leases</caption>
            <thead>
              <tr>
                <th scope="col" class="sel">
                  <input
                    type="checkbox"
                    aria-label="Select all shown leases"
                    checked={allSelected}
                    onChange={() => setSelected(allSelected ? new Set() : new Set(selectable.map((l) => l.id)))}
                  />
                </th>
                <th scope="col">Product</th>
                <th scope="col">User</th>
                <th scope="col">Device</th>
                <th scope="col" class="opt">Kind</th>
                <th scope="col">Status</th>
                <th scope="col" class="opt">Sessions</th>
                <th scope="col" class="opt">Started</th>
                <th scope="col">Ends</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((l) => (
                <tr key={l.id} data-lease-id={l.id} class={selected.has(l.id) ? 'selected' : ''}>
                  <td class="sel">
                    <input type="checkbox" aria-label={`Select lease ${l.id}`} disabled={l.status === 'ended'} checked={selected.has(l.id)} onChange={() => toggle(l.id)} />
                  </td>
                  <td data-label="Product">{l.product}</td>
                  <td data-label="User">{userName(l.user)}</td>
                  <td data-label="Device" class="mono">{l.device ?? (l.endpoint ? 'endpoint' : '—')}</td>
                  <td data-label="Kind" class="opt">
                    <span class={`badge kind-${l.kind}`}>{l.kind}</span>
                  </td>
                  <td data-label="Status">
                    <span class={`badge st-${l.status}`}>{l.status}</span>
                    {l.endReason && <span class="muted small"> {l.endReason}</span>}
                  </td>
                  <td data-label="Sessions" class="opt">{l.sessions}</td>
                  <td data-label="Started" class="opt" title={dateTime(l.startedAt, timeZone)}>
                    {ago(l.startedAt, now)}
                  </td>
                  <td data-label={l.endedAt ? 'Ended' : 'Ends'}>{l.endedAt ? <span title={dateTime(l.endedAt, timeZone)}>{ago(l.endedAt, now)}</span> : l.endsAt ? <strong>{countdown(l.endsAt, now)}</strong> : '—'}</td>
                  <td class="actions">
                    {l.status !== 'ended' && (
                      <button type="button" disabled={action.busy} onClick={() => void release(l)} aria-label={`Release lease ${l.id}`}>
                        Release
                      </button>
                    )}
                    {l.user === me && l.status === 'active' && (
                      <button type="button" disabled={action.busy} onClick={() => void pauseOrResume(l, 'pause')} aria-label={`Pause lease ${l.id}`}>
                        Pause
                      </button>
                    )}
                    {l.user === me && l.status === 'paused' && (
                      <button type="button" disabled={action.busy} onClick={() => void pauseOrResume(l, 'resume')} aria-label={`Resume lease ${l.id}`}>
                        Resume
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {leases.data?.more && pages < 5 && (
        <p>
          <button type="button" onClick={() => setPages(pages + 1)}>
            Show more
          </button>
        </p>
      )}
      <TerminateDialog
        dialog={dialog}
        ids={Array.from(selected)}
        api={api}
        timeZone={timeZone}
        onDone={(text) => {
          setSelected(new Set());
          setMessage(text);
          void leases.reload();
        }}
      />
    </>
  );
}

function TerminateDialog(props: { dialog: { current: HTMLDialogElement | null }; ids: string[]; api: Api; timeZone: string | undefined; onDone: (message: string) => void }) {
  const [text, setText] = useState('An administrator is ending this session.');
  const [grace, setGrace] = useState('30');
  const { busy, error, setError, run } = useAction();
  const close = () => {
    setError(null);
    props.dialog.current?.close();
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    const r = await run(() =>
      props.api.post<{ terminating: { id: string; at: string }[] }>('/v1/leases/terminate', { ids: props.ids, message: text, grace: Number(grace) }),
    );
    if (!r) return;
    close();
    const at = r.terminating[0]?.at;
    props.onDone(`${r.terminating.length} lease(s) are ending${at ? ` at ${dateTime(at, props.timeZone)}` : ''}; their users were told “${text}”.`);
  };
  return (
    <dialog ref={props.dialog} aria-labelledby="terminate-title" onClose={() => setError(null)}>
      <form onSubmit={(e) => void submit(e)} class="stack">
        <h2 id="terminate-title">End {props.ids.length} selected lease(s)</h2>
        <p class="muted">Their sessions get this message and a countdown; the seats free when the grace period is over.</p>
        <TextField label="Message to the users" value={text} onInput={setText} maxLength={500} />
        <TextField label="Grace period (seconds)" type="number" min={0} max={86400} value={grace} onInput={setGrace} required />
        <ProblemBox error={error} what="Ending sessions" />
        <div class="buttons">
          <button type="submit" class="danger" disabled={busy || props.ids.length === 0}>
            {busy ? 'Ending…' : 'End sessions'}
          </button>
          <button type="button" onClick={close}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}
