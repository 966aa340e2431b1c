import { useState } from 'preact/hooks';
import { useConsole } from '../context.js';
import { useLoad } from '../hooks.js';
import { duration } from '../format.js';
import { Checkbox, Select, TextField, useAction } from '../components/ui.js';
import type { License, Product, SeatModel, Team } from '../types.js';
import { FormCard, Section, useDelete } from '../components/resource.js';

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
  const [editing, setEditing] = useState<string | null>(null);
  return (
    <Section
      title="Products"
      newLabel="New product"
      form={(close) => <ProductForm onDone={() => void list.reload().then(close)} onCancel={close} />}
      error={list.error ?? del.error}
      loading={list.loading && !list.data}
      empty={(list.data ?? []).length === 0}
      emptyText="No products yet. A product is what is licensed (an app, a display, an SDK); its seat model says what one seat is."
    >
      <table>
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Name</th>
            <th scope="col">Seat model</th>
            <th scope="col" class="opt">Heartbeat</th>
            <th scope="col" class="opt">Flex</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(list.data ?? []).map((p) =>
            editing === p.id ? (
              <tr key={p.id}>
                <td colSpan={6}>
                  <ProductForm product={p} onDone={() => void list.reload().then(() => setEditing(null))} onCancel={() => setEditing(null)} />
                </td>
              </tr>
            ) : (
              <tr key={p.id}>
                <td class="mono">{p.key}</td>
                <td>{p.name}</td>
                <td>{p.seatModel}</td>
                <td class="opt">
                  every {p.heartbeat.interval} s, timeout {p.heartbeat.timeout} s{p.linger > 0 && `, linger ${p.linger} s`}
                </td>
                <td class="opt">{p.flex.channels.length ? `${p.flex.channels.join(', ')} · ${duration(p.flex.duration)}` : 'off'}</td>
                <td class="actions">
                  <button type="button" onClick={() => setEditing(p.id)} aria-label={`Edit product ${p.key}`}>
                    Edit
                  </button>
                  <button
                    type="button"
                    class="danger"
                    onClick={() => void del.remove(`/v1/products/${p.id}`, `Delete product ${p.key} with its licenses and endpoints?`)}
                    aria-label={`Delete product ${p.key}`}
                  >
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

function ProductForm({ product, onDone, onCancel }: { product?: Product; onDone: () => void; onCancel: () => void }) {
  const { api } = useConsole();
  const [f, setF] = useState({
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
  });
  const set = (k: keyof typeof f) => (v: string) => setF({ ...f, [k]: v });
  const { busy, error, run } = useAction();
  const submit = async () => {
    const ok = await run(async () => {
      const body = {
        name: f.name || f.key,
        seatModel: f.seatModel,
        heartbeat: { interval: Number(f.interval), timeout: Number(f.timeout) },
        linger: Number(f.linger),
        standbyTimeout: f.standbyTimeout === '' ? null : Number(f.standbyTimeout),
        flex: { channels: f.flexChannels.split(',').map((s) => s.trim()).filter(Boolean), duration: Number(f.flexDuration) },
        clientTypes: parseClientTypes(f.clientTypes),
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
  const { api } = useConsole();
  const list = useLoad(async () => {
    const [licenses, products, teams] = await Promise.all([
      api.all<License>('/v1/licenses').then((r) => r.items),
      api.all<Product>('/v1/products').then((r) => r.items),
      api.all<Team>('/v1/teams').then((r) => r.items),
    ]);
    return { licenses, products, teams };
  }, []);
  const del = useDelete(list.reload);
  const [editing, setEditing] = useState<string | null>(null);
  const teamName = (id: string | null) => (id === null ? 'anyone' : (list.data?.teams.find((t) => t.id === id)?.name ?? id));
  const noProducts = list.data !== undefined && list.data.products.length === 0;
  return (
    <Section
      title="Licenses"
      newLabel="New license"
      form={noProducts ? undefined : (close) => <LicenseForm products={list.data?.products ?? []} teams={list.data?.teams ?? []} onDone={() => void list.reload().then(close)} onCancel={close} />}
      error={list.error ?? del.error}
      loading={list.loading && !list.data}
      empty={(list.data?.licenses ?? []).length === 0}
      emptyText={noProducts ? 'Create a product first; a license gives it seats.' : 'No licenses yet. A license is a block of seats of one product, as bought.'}
    >
      <table>
        <thead>
          <tr>
            <th scope="col">Product</th>
            <th scope="col">Name</th>
            <th scope="col">Seats</th>
            <th scope="col">In use</th>
            <th scope="col" class="opt">Overage</th>
            <th scope="col" class="opt">Team</th>
            <th scope="col" class="opt">Platform</th>
            <th scope="col" class="opt">Enforcement</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(list.data?.licenses ?? []).map((l) =>
            editing === l.id ? (
              <tr key={l.id}>
                <td colSpan={9}>
                  <LicenseForm license={l} products={list.data?.products ?? []} teams={list.data?.teams ?? []} onDone={() => void list.reload().then(() => setEditing(null))} onCancel={() => setEditing(null)} />
                </td>
              </tr>
            ) : (
              <tr key={l.id} data-license-id={l.id}>
                <td>{l.product}</td>
                <td>{l.name ?? '—'}</td>
                <td>{l.seats}</td>
                <td>{l.inUse}</td>
                <td class="opt">{l.overage} %</td>
                <td class="opt">{teamName(l.team)}</td>
                <td class="opt">{l.platform ?? 'any'}</td>
                <td class="opt">{l.enforcement}</td>
                <td class="actions">
                  <button type="button" onClick={() => setEditing(l.id)} aria-label={`Edit license ${l.name ?? l.id}`}>
                    Edit
                  </button>
                  <button
                    type="button"
                    class="danger"
                    onClick={() => void del.remove(`/v1/licenses/${l.id}`, `Delete this license of ${l.product}? Its ${l.inUse} lease(s) end at once (license-ended).`)}
                    aria-label={`Delete license ${l.name ?? l.id}`}
                  >
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

const dayOf = (iso: string | null | undefined) => (iso ? iso.slice(0, 10) : '');
const isoOfDay = (day: string) => (day ? new Date(`${day}T00:00:00`).toISOString() : null);

function LicenseForm(props: { license?: License; products: Product[]; teams: Team[]; onDone: () => void; onCancel: () => void }) {
  const { api } = useConsole();
  const l = props.license;
  const [f, setF] = useState({
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
  const set = (k: keyof typeof f) => (v: string) => setF({ ...f, [k]: v });
  const { busy, error, run } = useAction();
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
