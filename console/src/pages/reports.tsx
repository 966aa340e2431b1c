import { useMemo, useState } from 'preact/hooks';
import { isMissingRoute, withQuery } from '../api.js';
import { useConsole } from '../context.js';
import { useLoad } from '../hooks.js';
import { dateTime, dayToIso, duration, rangeFor, shortId, type RangePreset } from '../format.js';
import { LineChart } from '../components/chart.js';
import { Empty, Loading, NotAvailable, PageHead, ProblemBox, Select, TextField, useAction, useTabs } from '../components/ui.js';
import { LoadedTable } from '../components/table.js';
import type { ActiveLogin, AuditEntry, Denial, Lease, MaxReached, Usage, UsagePoint, User } from '../types.js';

const TABS = [
  ['usage', 'Usage over time'], ['denials', 'Denials'], ['max-reached', 'Max reached'], ['sessions', 'Session history'], ['active-logins', 'Active logins'],
  ['audit', 'Audit log'],
] as const;
type Tab = (typeof TABS)[number][0];

/** SPEC §7 history: usage over time, refusals, full-capacity intervals, session history, active logins. */
export function ReportsPage() {
  const { api } = useConsole();
  const { tab, nav } = useTabs<Tab>('/reports', 'Reports', TABS);
  const lookups = useLoad(async () => {
    const [usage, users] = await Promise.all([
      api.get<Usage>('/v1/usage'),
      api.all<User>('/v1/users').then((r) => r.items).catch(() => [] as User[]),
    ]);
    return { products: usage.products.map((p) => p.product), users: new Map(users.map((u) => [u.id, u.username])) };
  }, []);
  const products = lookups.data?.products ?? [];
  const userName = (id: string | null) => (id === null ? '—' : (lookups.data?.users.get(id) ?? shortId(id)));
  return (
    <>
      <PageHead title="Reports" />
      {nav}
      {tab === 'usage' && <UsageOverTime products={products} />}
      {tab === 'denials' && <Denials products={products} userName={userName} />}
      {tab === 'max-reached' && <MaxReachedReport products={products} />}
      {tab === 'sessions' && <Sessions userName={userName} />}
      {tab === 'active-logins' && <ActiveLogins userName={userName} />}
      {tab === 'audit' && <Audit userName={userName} />}
    </>
  );
}

function productOptions(products: string[], all = 'All products') {
  return [['', all] as const, ...products.map((p) => [p, p] as const)];
}

/** From/to day pickers (browser time zone) shared by the history reports. */
function useRange() {
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const fields = (
    <>
      <TextField label="From" type="date" value={from} onInput={setFrom} />
      <TextField label="To" type="date" value={to} onInput={setTo} />
    </>
  );
  return { from: dayToIso(from), to: dayToIso(to, true), fields };
}

/** A history report filtered by product and day range, following the event stream. */
function useHistory<T>(path: string) {
  const { api } = useConsole();
  const [product, setProduct] = useState('');
  const range = useRange();
  const loaded = useLoad(() => api.all<T>(path, { product, from: range.from, to: range.to }, 5), [product, range.from, range.to], true);
  return { product, setProduct, range, ...loaded };
}

function UsageOverTime({ products }: { products: string[] }) {
  const { api, timeZone } = useConsole();
  const [preset, setPreset] = useState<RangePreset>('day');
  const [product, setProduct] = useState('');
  const chosen = product || products[0] || '';
  const { data, error, loading } = useLoad(
    async () => {
      if (!chosen) return { points: [], range: [0, 0] as [number, number] };
      const r = rangeFor(preset, Date.now());
      const body = await api.get<UsagePoint[] | { items: UsagePoint[] }>('/v1/reports/usage', { product: chosen, from: r.from, to: r.to, bucket: r.bucket });
      return { points: Array.isArray(body) ? body : body.items, range: [Date.parse(r.from) / 1000, Date.parse(r.to) / 1000] as [number, number] };
    },
    [preset, chosen],
  );
  const chart = useMemo(() => {
    const points = data?.points ?? [];
    return {
      times: points.map((p) => Date.parse(p.t) / 1000),
      series: [
        { label: 'peak', values: points.map((p) => p.peak), color: '#c2410c' },
        { label: 'average', values: points.map((p) => p.avg), color: '#2563eb' },
      ],
    };
  }, [data]);
  if (isMissingRoute(error)) return <NotAvailable what="Usage over time" detail={(error as Error).message} />;
  return (
    <section aria-label="Usage over time">
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <Select label="Product" value={chosen} onChange={setProduct} options={products.map((p) => [p, p] as const)} />
        <Select label="Period" value={preset} onChange={setPreset} options={[['day', 'Last day'], ['week', 'Last week'], ['month', 'Last 30 days']]} />
      </form>
      <ProblemBox error={error} />
      {products.length === 0 && <Empty>No products yet.</Empty>}
      {loading && <Loading what="Loading usage" />}
      {data && data.points.length === 0 && chosen && <Empty>No usage recorded for {chosen} in this period.</Empty>}
      {data && data.points.length > 0 && (
        <LineChart times={chart.times} series={chart.series} range={data.range} label={`Seats in use of ${chosen} over the ${preset}: peak and average`} timeZone={timeZone} />
      )}
    </section>
  );
}

function Denials({ products, userName }: { products: string[]; userName: (id: string | null) => string }) {
  const { timeZone } = useConsole();
  const { product, setProduct, range, data, error, loading } = useHistory<Denial>('/v1/reports/denials');
  return (
    <section aria-label="Denials">
      <p class="muted">Every refused request: who, which device, and why (no seat, personal limit, endpoint disabled).</p>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <Select label="Product" value={product} onChange={setProduct} options={productOptions(products)} />
        {range.fields}
      </form>
      <LoadedTable
        rows={data?.items}
        error={error}
        what="Denials"
        loading={loading}
        empty="No refusals in this period. Every request got a seat."
        rowKey={(d, i) => `${d.at}-${i}`}
        columns={[
          { head: 'When', cell: (d) => dateTime(d.at, timeZone) },
          { head: 'Product', cell: (d) => d.product },
          { head: 'User', cell: (d) => userName(d.user) },
          { head: 'Device', cell: (d) => d.device ?? '—', class: 'mono' },
          { head: 'Code', cell: (d) => <code>{d.code}</code> },
        ]}
        more={data?.more && <p class="muted small">Showing the first {data.items.length}; narrow the dates to see the rest.</p>}
      />
    </section>
  );
}

function MaxReachedReport({ products }: { products: string[] }) {
  const { timeZone } = useConsole();
  const { product, setProduct, range, data, error, loading } = useHistory<MaxReached>('/v1/reports/max-reached');
  return (
    <section aria-label="Max reached">
      <p class="muted">Intervals during which a product had no free seat.</p>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <Select label="Product" value={product} onChange={setProduct} options={productOptions(products)} />
        {range.fields}
      </form>
      <LoadedTable
        rows={data?.items}
        error={error}
        what="Max reached"
        loading={loading}
        empty="No product was at full capacity in this period."
        rowKey={(m, i) => `${m.product}-${m.from}-${i}`}
        columns={[
          { head: 'Product', cell: (m) => m.product },
          { head: 'Full from', cell: (m) => dateTime(m.from, timeZone) },
          { head: 'Until', cell: (m) => (m.to ? dateTime(m.to, timeZone) : <strong class="warn-text">still full</strong>) },
          { head: 'For', cell: (m) => duration(((m.to ? Date.parse(m.to) : Date.now()) - Date.parse(m.from)) / 1000) },
        ]}
      />
    </section>
  );
}

function Sessions({ userName }: { userName: (id: string | null) => string }) {
  const { api, timeZone } = useConsole();
  const range = useRange();
  const { data, error, loading } = useLoad(() => api.all<Lease>('/v1/reports/leases', { from: range.from, to: range.to }, 5), [range.from, range.to]);
  const csv = useAction();
  const download = async () => {
    await csv.run(async () => {
      const res = await api.raw('GET', withQuery('/v1/reports/leases', { from: range.from, to: range.to }), undefined, 'text/csv');
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = `seatkeeper-leases-${new Date().toISOString().slice(0, 10)}.csv`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    });
  };
  if (isMissingRoute(error)) return <NotAvailable what="Session history" detail={(error as Error).message} />;
  return (
    <section aria-label="Session history">
      <p class="muted">Leases that started or ended in the period, live ones included.</p>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        {range.fields}
        <div class="field end">
          <button type="button" onClick={() => void download()} disabled={csv.busy}>
            Export CSV
          </button>
        </div>
      </form>
      <ProblemBox error={csv.error} what="CSV export" />
      <LoadedTable
        rows={data?.items}
        error={error}
        loading={loading}
        empty="No leases in this period."
        rowKey={(l) => l.id}
        columns={[
          { head: 'Product', cell: (l) => l.product },
          { head: 'User', cell: (l) => userName(l.user) },
          { head: 'Device', cell: (l) => l.device ?? '—', class: 'mono' },
          { head: 'Kind', cell: (l) => l.kind },
          { head: 'Started', cell: (l) => dateTime(l.startedAt, timeZone) },
          { head: 'Ended', cell: (l) => (l.endedAt ? dateTime(l.endedAt, timeZone) : <span class="badge st-active">live</span>) },
          { head: 'Length', cell: (l) => (l.durationSeconds === undefined ? '—' : duration(l.durationSeconds)), opt: true },
          { head: 'Why', cell: (l) => l.endReason ?? '—' },
        ]}
      />
    </section>
  );
}

function ActiveLogins({ userName }: { userName: (id: string | null) => string }) {
  const { api, timeZone } = useConsole();
  const { data, error, loading } = useLoad(
    async () => {
      const body = await api.get<ActiveLogin[] | { items: ActiveLogin[] }>('/v1/reports/active-logins', { limit: 1000 });
      return Array.isArray(body) ? body : body.items;
    },
    [],
    true,
  );
  if (isMissingRoute(error)) return <NotAvailable what="Active logins" detail={(error as Error).message} />;
  return (
    <section aria-label="Active logins">
      <LoadedTable
        rows={data}
        error={error}
        loading={loading}
        empty="Nobody is logged in right now."
        rowKey={(a, i) => `${a.user}-${a.device}-${a.product}-${i}`}
        columns={[
          { head: 'User', cell: (a) => a.username ?? userName(a.user) },
          { head: 'Device', cell: (a) => a.device ?? '—', class: 'mono' },
          { head: 'Product', cell: (a) => a.product },
          { head: 'Since', cell: (a) => dateTime(a.since, timeZone) },
          { head: 'Sessions', cell: (a) => a.sessions },
        ]}
      />
    </section>
  );
}

function Audit({ userName }: { userName: (id: string | null) => string }) {
  const { api, timeZone } = useConsole();
  const { data, error, loading } = useLoad(() => api.all<AuditEntry>('/v1/audit', {}, 1), [], true);
  if (isMissingRoute(error)) return <NotAvailable what="Audit log" detail={(error as Error).message} />;
  // Actors are user ids or key ids; show a username where one is known.
  const actor = (a: string) => (a.startsWith('usr_') ? userName(a) : a);
  return (
    <section aria-label="Audit log">
      <p class="muted">Administrative changes, newest first.</p>
      <LoadedTable
        rows={data?.items}
        error={error}
        loading={loading}
        empty="No administrative changes recorded yet."
        rowKey={(a, i) => `${a.at}-${i}`}
        columns={[
          { head: 'When', cell: (a) => dateTime(a.at, timeZone) },
          { head: 'Who', cell: (a) => actor(a.actor) },
          { head: 'What', cell: (a) => <code>{a.action}</code> },
          { head: 'Target', cell: (a) => a.target ?? '—', opt: true, class: 'mono' },
          { head: 'Detail', cell: (a) => (Object.keys(a.detail).length ? JSON.stringify(a.detail) : ''), opt: true, class: 'mono small' },
        ]}
      />
    </section>
  );
}
