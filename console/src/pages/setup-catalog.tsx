import { useState } from 'preact/hooks';
import { useConsole } from '../context.js';
import { useLoad } from '../hooks.js';
import { dateTime, duration, quotaLimit, splitList } from '../format.js';
import { Bar } from '../components/gauge.js';
import { Checkbox, Select, TextField } from '../components/ui.js';
import type { License, Product, SeatModel, SoftException, Team } from '../types.js';
import { EditDelete, FormCard, Section, listState, useConfirmed, useDelete, useFields, useInlineEdit } from '../components/resource.js';
import { DataTable, type Column } from '../components/table.js';

const SEAT_MODELS = [
  ['session', 'session: every running client is a seat'],
  ['user-device', 'user-device: one per user per computer'],
  ['user', 'user: one per user anywhere'],
  ['device', 'device: one per activated device'],
] as const;

/** "desktop 5 15\nweb 60 300" ⇄ { desktop: { interval: 5, timeout: 15 }, … } */
export function parseClientTypes(text: string): Record<string, { interval: number; timeout: number }> {
  const out: Record<string, { interval: number; timeout: number }> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const m = /^([A-Za-z0-9._-]{1,50})\s+(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)$/.exec(line);
    if (!m) throw new Error(`client types: write each as "name interval timeout" (seconds), not "${line}"`);
    out[m[1]!] = { interval: Number(m[2]), timeout: Number(m[3]) };
  }
  return out;
}
const clientTypesText = (c: Record<string, { interval: number; timeout: number }>) =>
  Object.entries(c)
    .map(([k, v]) => `${k} ${v.interval} ${v.timeout}`)
    .join('\n');

export function ProductsTab() {
  const { api } = useConsole();
  const list = useLoad(() => api.all<Product>('/v1/products').then((r) => r.items), []);
  const del = useDelete(list.reload);
  const reset = useConfirmed(list.reload);
  const edit = useInlineEdit(list.reload);
  const columns: Column<Product>[] = [
    { head: 'Key', cell: (p) => p.key, class: 'mono' },
    { head: 'Name', cell: (p) => p.name },
    { head: 'Seat model', cell: (p) => p.seatModel },
    { head: 'Heartbeat', opt: true, cell: (p) => <>every {p.heartbeat.interval} s, timeout {p.heartbeat.timeout} s{p.linger > 0 && `, linger ${p.linger} s`}</> },
    { head: 'Flex', opt: true, cell: (p) => (p.flex.channels.length ? `${p.flex.channels.join(', ')} · ${duration(p.flex.duration)}` : 'off') },
    { head: 'Quota', cell: (p) => (p.quota ? <QuotaUse product={p.key} used={p.quotaUsed ?? 0} quota={p.quota} /> : <span class="muted">—</span>) },
    {
      head: 'Actions',
      actions: true,
      cell: (p) => (
        <>
          {p.quota && (
            <button
              type="button"
              disabled={reset.busy}
              onClick={() => void reset.confirmThen(`Reset the quota counter of ${p.key} to 0 (a new billing period)?`, () => api.post(`/v1/products/${p.id}/quota/reset`))}
              aria-label={`Reset quota counter of ${p.key}`}
            >
              Reset quota
            </button>
          )}
          <EditDelete what={`product ${p.key}`} onEdit={() => edit.start(p.id)} onDelete={() => void del.remove(`/v1/products/${p.id}`, `Delete product ${p.key} with its licenses and endpoints?`)} />
        </>
      ),
    },
  ];
  return (
    <Section
      title="Products"
      newLabel="New product"
      form={(close) => <ProductForm onDone={() => void list.reload().then(close)} onCancel={close} />}
      {...listState(list, list.data, del.error, reset.error)}
      emptyText="No products yet. A product is what is licensed (an app, a display, an SDK); its seat model says what one seat is."
    >
      <DataTable
        rows={list.data ?? []}
        columns={columns}
        rowKey={(p) => p.id}
        rowCards
        attrs={(p) => ({ 'data-product-key': p.key })}
        inline={(p) => edit.form(p.id, (onDone, onCancel) => <ProductForm product={p} onDone={onDone} onCancel={onCancel} />)}
      />
    </Section>
  );
}

/** Units counted of a metered product's quota, with the limit (quota + overage) past which reports are refused. */
function QuotaUse({ product, used, quota }: { product: string; used: number; quota: { units: number; overage: number } }) {
  const limit = quotaLimit(quota);
  return (
    <div class="quota">
      <span class="mono">
        {used} / {quota.units}
      </span>{' '}
      <span class={used >= limit ? 'full-text small' : used >= quota.units ? 'warn-text small' : 'muted small'}>
        {used >= limit ? 'exhausted' : `limit ${limit}`}
      </span>
      <Bar label={`${product}: units used`} inUse={used} seats={quota.units} what="units used" />
    </div>
  );
}

function ProductForm({ product, onDone, onCancel }: { product?: Product; onDone: () => void; onCancel: () => void }) {
  const { api } = useConsole();
  const { f, setF, set, busy, error, run } = useFields({
    key: product?.key ?? '',
    name: product?.name ?? '',
    seatModel: (product?.seatModel ?? 'session') as SeatModel,
    interval: String(product?.heartbeat.interval ?? 10),
    timeout: String(product?.heartbeat.timeout ?? 30),
    linger: String(product?.linger ?? 0),
    standbyTimeout: product?.standbyTimeout == null ? '' : String(product.standbyTimeout),
    flexChannels: (product?.flex.channels ?? ['access']).join(', '),
    flexDuration: String(product?.flex.duration ?? 1800),
    clientTypes: clientTypesText(product?.clientTypes ?? {}),
    activationWindow: String(product?.activationWindow ?? 90 * 86_400),
    quotaUnits: product?.quota ? String(product.quota.units) : '',
    quotaOverage: String(product?.quota?.overage ?? 5),
  });
  const submit = async () => {
    const ok = await run(async () => {
      const body = {
        name: f.name || f.key,
        seatModel: f.seatModel,
        heartbeat: { interval: Number(f.interval), timeout: Number(f.timeout) },
        linger: Number(f.linger),
        standbyTimeout: f.standbyTimeout === '' ? null : Number(f.standbyTimeout),
        flex: { channels: splitList(f.flexChannels), duration: Number(f.flexDuration) },
        clientTypes: parseClientTypes(f.clientTypes),
        activationWindow: Number(f.activationWindow),
        quota: f.quotaUnits.trim() === '' ? null : { units: Number(f.quotaUnits), overage: Number(f.quotaOverage) },
      };
      return product ? api.patch(`/v1/products/${product.id}`, body) : api.post('/v1/products', { key: f.key, ...body });
    });
    if (ok) onDone();
  };
  return (
    <FormCard title={product ? `Edit ${product.key}` : 'New product'} submit={product ? 'Save' : 'Create product'} busy={busy} error={error} onSubmit={() => void submit()} onCancel={onCancel}>
      {!product && <TextField label="Key" value={f.key} onInput={set('key')} required pattern="[A-Za-z0-9][A-Za-z0-9._\-]*" hint="Clients ask for the product by this key, e.g. cad" />}
      <TextField label="Name" value={f.name} onInput={set('name')} maxLength={200} />
      <Select label="Seat model" value={f.seatModel} onChange={(v) => setF({ ...f, seatModel: v })} options={SEAT_MODELS} />
      <TextField label="Heartbeat interval (s)" type="number" min={1} value={f.interval} onInput={set('interval')} required />
      <TextField label="Heartbeat timeout (s)" type="number" min={1} value={f.timeout} onInput={set('timeout')} required hint="A session silent this long is removed" />
      <TextField label="Linger (s)" type="number" min={0} value={f.linger} onInput={set('linger')} hint="Seat kept this long after the last session closes" />
      <TextField label="Standby timeout (s)" type="number" min={0} value={f.standbyTimeout} onInput={set('standbyTimeout')} hint="Empty: standby leases never expire" />
      <TextField label="Flex channels" value={f.flexChannels} onInput={set('flexChannels')} hint="Comma-separated; empty turns flex off" />
      <TextField label="Flex duration (s)" type="number" min={1} value={f.flexDuration} onInput={set('flexDuration')} />
      {f.seatModel === 'device' && (
        <TextField
          label="Activation window (s)"
          type="number"
          min={1}
          value={f.activationWindow}
          onInput={set('activationWindow')}
          hint={`A device keeps its seat this long (${duration(Number(f.activationWindow))}) after it is first authorised`}
        />
      )}
      <TextField label="Usage quota (units)" type="number" min={0} value={f.quotaUnits} onInput={set('quotaUnits')} hint="Units clients may report (scans, pages); empty: not metered" />
      {f.quotaUnits.trim() !== '' && <TextField label="Quota overage (%)" type="number" min={0} max={1000} value={f.quotaOverage} onInput={set('quotaOverage')} hint="Still allowed past 100 %, with a warning" />}
      <div class="field wide">
        <label for="client-types">Client types</label>
        <textarea id="client-types" rows={3} value={f.clientTypes} onInput={(e) => set('clientTypes')(e.currentTarget.value)} aria-describedby="client-types-hint" />
        <small id="client-types-hint" class="hint">
          One per line: name interval timeout, e.g. “desktop 5 15”
        </small>
      </div>
    </FormCard>
  );
}

export function LicensesTab() {
  const { api, route, navigate, timeZone } = useConsole();
  // Live: a soft license's exceptions and suspension change as its windows are counted.
  const list = useLoad(
    async () => {
      const [licenses, products, teams] = await Promise.all([
        api.all<License>('/v1/licenses').then((r) => r.items),
        api.all<Product>('/v1/products').then((r) => r.items),
        api.all<Team>('/v1/teams').then((r) => r.items),
      ]);
      return { licenses, products, teams };
    },
    [],
    true,
  );
  const del = useDelete(list.reload);
  const reset = useConfirmed(list.reload);
  const edit = useInlineEdit(list.reload);
  const windows = route.query.exceptions;
  const teamName = (id: string | null) => (id === null ? 'anyone' : (list.data?.teams.find((t) => t.id === id)?.name ?? id));
  const noProducts = list.data !== undefined && list.data.products.length === 0;
  const label = (l: License) => l.name ?? l.id;
  const columns: Column<License>[] = [
    { head: 'Product', cell: (l) => l.product },
    {
      head: 'Name',
      cell: (l) => (
        <>
          {l.name ?? '—'}
          {l.suspended && (
            <span class="badge st-suspended" title={l.suspendedAt ? `since ${dateTime(l.suspendedAt, timeZone)}` : undefined}>
              suspended
            </span>
          )}
        </>
      ),
    },
    { head: 'Seats', cell: (l) => l.seats },
    { head: 'In use', cell: (l) => l.inUse },
    { head: 'Overage', opt: true, cell: (l) => `${l.overage} %` },
    { head: 'Team', opt: true, cell: (l) => teamName(l.team) },
    { head: 'Platform', opt: true, cell: (l) => l.platform ?? 'any' },
    { head: 'Enforcement', opt: true, cell: (l) => (l.enforcement === 'soft' ? `soft, ${duration(l.window)} windows` : 'hard') },
    {
      head: 'Exceptions',
      cell: (l) =>
        l.enforcement === 'soft' ? (
          <>
            <span class={l.suspended ? 'full-text' : ''} title="Windows with more active than seats, of the exception quota">
              {l.exceptions ?? 0} / {l.exceptionQuota ?? '∞'}
            </span>{' '}
            <button
              type="button"
              class="link"
              aria-pressed={windows === l.id}
              onClick={() => navigate('/setup/licenses', { exceptions: windows === l.id ? undefined : l.id })}
              aria-label={`Exception windows of license ${label(l)}`}
            >
              windows
            </button>
          </>
        ) : (
          <span class="muted">—</span>
        ),
    },
    {
      head: 'Actions',
      actions: true,
      cell: (l) => (
        <>
          {l.enforcement === 'soft' && ((l.exceptions ?? 0) > 0 || l.suspended) && (
            <button
              type="button"
              disabled={reset.busy}
              onClick={() =>
                void reset.confirmThen(
                  `Reset the exceptions of this license of ${l.product} to 0?${l.suspended ? ' It is no longer suspended and works again at once.' : ''}`,
                  () => api.post(`/v1/licenses/${l.id}/exceptions/reset`),
                )
              }
              aria-label={`Reset exceptions of license ${label(l)}`}
            >
              Reset exceptions
            </button>
          )}
          <EditDelete
            what={`license ${label(l)}`}
            onEdit={() => edit.start(l.id)}
            onDelete={() => void del.remove(`/v1/licenses/${l.id}`, `Delete this license of ${l.product}? Its ${l.inUse} lease(s) end at once (license-ended).`)}
          />
        </>
      ),
    },
  ];
  return (
    <Section
      title="Licenses"
      newLabel="New license"
      form={noProducts ? undefined : (close) => <LicenseForm products={list.data?.products ?? []} teams={list.data?.teams ?? []} onDone={() => void list.reload().then(close)} onCancel={close} />}
      {...listState(list, list.data?.licenses, del.error, reset.error)}
      emptyText={noProducts ? 'Create a product first; a license gives it seats.' : 'No licenses yet. A license is a block of seats of one product, as bought.'}
    >
      <DataTable
        rows={list.data?.licenses ?? []}
        columns={columns}
        rowKey={(l) => l.id}
        rowCards
        attrs={(l) => ({ 'data-license-id': l.id })}
        rowClass={(l) => (l.suspended ? 'suspended' : '')}
        inline={(l) =>
          edit.form(l.id, (onDone, onCancel) => <LicenseForm license={l} products={list.data?.products ?? []} teams={list.data?.teams ?? []} onDone={onDone} onCancel={onCancel} />)
        }
        below={(l) => windows === l.id && <ExceptionWindows license={l} />}
      />
    </Section>
  );
}

/** The windows of a soft license that recorded an exception (more active than its seats). */
function ExceptionWindows({ license }: { license: License }) {
  const { api, timeZone } = useConsole();
  const list = useLoad(
    () => api.all<SoftException>(`/v1/licenses/${license.id}/exceptions`, {}, 2).then((r) => [...r.items].sort((a, b) => b.from.localeCompare(a.from))),
    [license.id, license.exceptions],
  );
  const columns: Column<SoftException>[] = [
    { head: 'Window from', cell: (w) => dateTime(w.from, timeZone) },
    { head: 'To', cell: (w) => dateTime(w.to, timeZone).split(', ')[1] },
    { head: 'Active', cell: (w) => <strong class="warn-text">{w.active}</strong> },
    { head: 'Seats', cell: (w) => w.seats },
  ];
  return (
    <Section
      title={`Exception windows of ${license.name ?? `this license of ${license.product}`}`}
      {...listState(list, list.data)}
      emptyText={`No window of ${duration(license.window)} has had more active than ${license.seats} seat(s).`}
    >
      <DataTable rows={list.data ?? []} columns={columns} rowKey={(w) => w.from} caption="Exception windows, newest first" rowCards />
    </Section>
  );
}

const dayOf = (iso: string | null | undefined) => (iso ? iso.slice(0, 10) : '');
const isoOfDay = (day: string) => (day ? new Date(`${day}T00:00:00`).toISOString() : null);

function LicenseForm(props: { license?: License; products: Product[]; teams: Team[]; onDone: () => void; onCancel: () => void }) {
  const { api } = useConsole();
  const l = props.license;
  const { f, setF, set, busy, error, run } = useFields({
    product: l?.product ?? props.products[0]?.key ?? '',
    name: l?.name ?? '',
    seats: String(l?.seats ?? 1),
    team: l?.team ?? '',
    platform: l?.platform ?? '',
    overage: String(l?.overage ?? 0),
    enforcement: l?.enforcement ?? 'hard',
    startsAt: dayOf(l?.startsAt),
    expiresAt: dayOf(l?.expiresAt),
    window: String(l?.window ?? 180),
    exceptionQuota: l?.exceptionQuota == null ? '' : String(l.exceptionQuota),
  });
  const submit = async () => {
    const body = {
      name: f.name || null,
      seats: Number(f.seats),
      team: f.team || null,
      platform: f.platform.trim() || null,
      overage: Number(f.overage),
      enforcement: f.enforcement,
      startsAt: isoOfDay(f.startsAt),
      expiresAt: isoOfDay(f.expiresAt),
      window: Number(f.window),
      exceptionQuota: f.exceptionQuota === '' ? null : Number(f.exceptionQuota),
    };
    const ok = await run(() => (l ? api.patch(`/v1/licenses/${l.id}`, body) : api.post('/v1/licenses', { product: f.product, ...body })));
    if (ok) props.onDone();
  };
  const [soft, setSoft] = useState(f.enforcement === 'soft');
  return (
    <FormCard title={l ? `Edit license of ${l.product}` : 'New license'} submit={l ? 'Save' : 'Create license'} busy={busy} error={error} onSubmit={() => void submit()} onCancel={props.onCancel}>
      {!l && <Select label="Product" value={f.product} onChange={set('product')} options={props.products.map((p) => [p.key, p.key] as const)} />}
      <TextField label="Name" value={f.name} onInput={set('name')} maxLength={200} hint="Optional, e.g. “Team A android”" />
      <TextField label="Seats" type="number" min={0} value={f.seats} onInput={set('seats')} required hint={l ? 'Lowering ends nobody’s lease; no new seat until below the limit' : undefined} />
      <TextField label="Overage (%)" type="number" min={0} max={1000} value={f.overage} onInput={set('overage')} hint="Extra seats beyond 100 %, marked overage" />
      <Select label="Team" value={f.team} onChange={set('team')} options={[['', 'Unassigned: anyone'], ...props.teams.map((t) => [t.id, t.name] as const)]} />
      <TextField label="Platform" value={f.platform} onInput={set('platform')} hint="Only requests for this platform (e.g. android); empty: any" />
      <TextField label="Valid from" type="date" value={f.startsAt} onInput={set('startsAt')} />
      <TextField label="Expires" type="date" value={f.expiresAt} onInput={set('expiresAt')} />
      <Checkbox
        label="Soft enforcement (never deny; count exceptions)"
        checked={soft}
        onChange={(v) => {
          setSoft(v);
          setF({ ...f, enforcement: v ? 'soft' : 'hard' });
        }}
      />
      {soft && <TextField label="Window (s)" type="number" min={1} value={f.window} onInput={set('window')} />}
      {soft && <TextField label="Exception quota" type="number" min={0} value={f.exceptionQuota} onInput={set('exceptionQuota')} hint="Empty: no quota" />}
    </FormCard>
  );
}
