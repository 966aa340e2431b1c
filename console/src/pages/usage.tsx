import { useConsole } from '../context.js';
import { useLoad, useNow } from '../hooks.js';
import { countdown, dateTime, licenseName } from '../format.js';
import { Bar, Gauge } from '../components/gauge.js';
import { Empty, Loading, ProblemBox } from '../components/ui.js';
import type { Lease, License, Product, ProductUsage, Team, Usage } from '../types.js';

interface UsageView {
  usage: Usage;
  names: Map<string, string>;
  /** Products whose seat model is `device` (admins), to link to their activated devices. */
  deviceProducts: Set<string>;
  teams: Map<string, string>;
  /** Soft licenses (admins), for their exceptions and suspension. */
  soft: Map<string, License>;
  flexLeases: Lease[];
}

/** SPEC §7 "Usage": per product and license, seats in use of capacity and what else holds or waits. */
export function UsagePage() {
  const { api, admin } = useConsole();
  const now = useNow(1000);
  const { data, error, loading, updatedAt } = useLoad<UsageView>(
    async () => {
      const usage = await api.get<Usage>('/v1/usage');
      // Team names for license labels, product names and soft licenses' state (admins); flex leases for countdowns.
      const list = <T,>(path: string) => (admin ? api.all<T>(path).then((r) => r.items).catch((): T[] => []) : Promise.resolve([] as T[]));
      const [teams, products, licenses] = await Promise.all([list<Team>('/v1/teams'), list<Product>('/v1/products'), list<License>('/v1/licenses')]);
      const flexInUse = usage.products.some((p) => p.flex.inUse > 0);
      const flexLeases = flexInUse
        ? await api.get<{ items: Lease[] }>('/v1/leases', { status: 'active', limit: 1000 }).then((r) => r.items.filter((l) => l.kind === 'flex')).catch(() => [])
        : [];
      return {
        usage,
        names: new Map(products.map((p) => [p.key, p.name])),
        deviceProducts: new Set(products.filter((p) => p.seatModel === 'device').map((p) => p.key)),
        teams: new Map(teams.map((t) => [t.id, t.name])),
        soft: new Map(licenses.filter((l) => l.enforcement === 'soft').map((l) => [l.id, l])),
        flexLeases,
      };
    },
    [admin],
    true,
  );

  const products = data?.usage.products ?? [];
  const totals = products.reduce(
    (t, p) => ({ inUse: t.inUse + p.inUse, capacity: t.capacity + p.capacity, flex: t.flex + p.flex.inUse, ppu: t.ppu + p.ppu.inUse, queued: t.queued + p.queued }),
    { inUse: 0, capacity: 0, flex: 0, ppu: 0, queued: 0 },
  );
  const first = products[0];

  return (
    <>
      <div class="page-head">
        <h1 tabIndex={-1}>Usage</h1>
        {updatedAt && <span class="muted small">updated {dateTime(new Date(updatedAt).toISOString()).split(', ')[1]}</span>}
      </div>
      <ProblemBox error={error} />
      {loading && !data && <Loading what="Loading usage" />}
      {data && products.length === 0 && (
        <Empty>
          No products yet.{' '}
          {admin ? (
            <>
              Create one in <a href="#/setup/products">Set-up → Products</a>, then give it seats in <a href="#/setup/licenses">Licenses</a>.
            </>
          ) : (
            'An administrator has not set any up.'
          )}
        </Empty>
      )}
      {first && (
        <section class="summary" aria-label="Account totals">
          <Stat label="Seats in use" value={`${totals.inUse} of ${totals.capacity}`} />
          <Stat label="Flex in use" value={`${totals.flex} of ${first.flex.max}`} />
          <Stat label="Pay-per-use" value={`${totals.ppu} in use`} sub={`${first.ppu.balanceMinutes} min left`} />
          <Stat label="Queued" value={String(totals.queued)} />
        </section>
      )}
      <div class="cards">
        {products.map((p) => (
          <ProductCard key={p.product} p={p} name={data?.names.get(p.product)} devices={data?.deviceProducts.has(p.product) ?? false} teams={data?.teams ?? new Map()} soft={data?.soft ?? new Map()} flexLeases={(data?.flexLeases ?? []).filter((l) => l.product === p.product)} now={now} />
        ))}
      </div>
    </>
  );
}

function Stat({ label, value, sub }: { label: string; value: string; sub?: string }) {
  return (
    <div class="stat">
      <span class="stat-label">{label}</span>
      <span class="stat-value">{value}</span>
      {sub && <span class="stat-sub">{sub}</span>}
    </div>
  );
}

function ProductCard(props: { p: ProductUsage; name: string | undefined; devices: boolean; teams: Map<string, string>; soft: Map<string, License>; flexLeases: Lease[]; now: number }) {
  const { p, name, teams, soft, flexLeases, now } = props;
  const over = p.inUse > p.capacity;
  const units = p.units;
  return (
    <section class="card product" aria-labelledby={`p-${p.product}`} data-product={p.product}>
      <h2 id={`p-${p.product}`}>
        {name && name !== p.product ? (
          <>
            {name} <span class="muted mono small">{p.product}</span>
          </>
        ) : (
          p.product
        )}
      </h2>
      {units ? (
        <div class="gauges">
          <div>
            <Gauge label={`${p.product}: seats in use`} inUse={p.inUse} capacity={p.capacity} />
            <span class="gauge-caption">seats</span>
          </div>
          <div>
            <Gauge label={`${p.product}: units used`} inUse={units.used} capacity={units.quota} what="units used of the quota" />
            <span class="gauge-caption">units of quota</span>
          </div>
        </div>
      ) : (
        <Gauge label={`${p.product}: seats in use`} inUse={p.inUse} capacity={p.capacity} />
      )}
      {units && (
        <p class={`small ${units.used >= units.limit ? 'full-text' : units.used >= units.quota ? 'warn-text' : 'muted'}`}>
          {units.used >= units.limit
            ? `Quota exhausted: ${units.used} of at most ${units.limit} units; reports and new leases are refused until it is reset.`
            : units.used >= units.quota
              ? `Quota reached: still allowed up to ${units.limit} units, with a warning.`
              : `Units used of a quota of ${units.quota}; at most ${units.limit} with the overage.`}
        </p>
      )}
      {props.devices && (
        <p class="small">
          <a href={`#/devices?product=${encodeURIComponent(p.product)}`}>Activated devices of {p.product}</a>
        </p>
      )}
      {over && <p class="warn-text">Over capacity: {p.inUse - p.capacity} seat(s) beyond the licenses (overage, or seats lowered while held).</p>}
      <dl class="facts">
        <dt>Free</dt>
        <dd>{p.free}</dd>
        <dt>Overage</dt>
        <dd class={p.overage > 0 ? 'warn-text' : ''}>{p.overage}</dd>
        <dt>Flex</dt>
        <dd>
          {p.flex.inUse} of {p.flex.max}
        </dd>
        <dt>Pay-per-use</dt>
        <dd>{p.ppu.inUse}</dd>
        <dt>Queued</dt>
        <dd>{p.queued}</dd>
        <dt>Paused</dt>
        <dd>{p.paused}</dd>
        <dt>Standby</dt>
        <dd>{p.standby}</dd>
        <dt>Peak today</dt>
        <dd>{p.peakToday}</dd>
      </dl>
      {flexLeases.length > 0 && (
        <div>
          <h3>Flex leases</h3>
          <ul class="plain">
            {flexLeases.map((l) => (
              <li key={l.id}>
                {l.device ?? l.user ?? l.id}: {l.endsAt ? <>ends in <strong>{countdown(l.endsAt, now)}</strong></> : 'no end time'}
              </li>
            ))}
          </ul>
        </div>
      )}
      <h3>Licenses</h3>
      {p.licenses.length === 0 ? (
        <p class="muted">No licenses: this product has no seats.</p>
      ) : (
        <ul class="plain licenses">
          {p.licenses.map((l) => {
            const name = licenseName(l);
            return (
              <li key={l.id}>
                <div class="license-row">
                  <span>
                    {name}
                    {l.team && <span class="badge">{teams.get(l.team) ?? 'team'}</span>}
                    {l.platform && <span class="badge">{l.platform}</span>}
                    <SoftState l={soft.get(l.id)} />
                  </span>
                  <span class="mono">
                    {l.inUse} / {l.seats}
                  </span>
                </div>
                <Bar label={`${p.product} ${name}: seats in use`} inUse={l.inUse} seats={l.seats} />
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

/** A soft license's exceptions of its quota, and whether they suspended it. */
function SoftState({ l }: { l: License | undefined }) {
  if (!l) return null;
  return (
    <>
      <span class="badge" title="Windows with more active than seats, of the exception quota">
        soft · {l.exceptions ?? 0}/{l.exceptionQuota ?? '∞'} exceptions
      </span>
      {l.suspended && <span class="badge st-suspended">suspended</span>}
    </>
  );
}
