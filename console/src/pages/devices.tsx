import { useConsole } from '../context.js';
import { useCatalog, useLoad, useNow } from '../hooks.js';
import { ago, dateTime, duration } from '../format.js';
import { Gauge } from '../components/gauge.js';
import { Empty, Loading, PageHead, ProblemBox, Select } from '../components/ui.js';
import { listState, Section } from '../components/resource.js';
import { DataTable, type Column } from '../components/table.js';
import type { DeviceActivation } from '../types.js';

/**
 * Products of the `device` seat model (SPEC §6): each activated device holds a seat for its
 * activation window whether it runs or not. Lists the active activations of one product.
 */
export function DevicesPage() {
  const { api, route, navigate, timeZone } = useConsole();
  const now = useNow(30_000);
  const catalog = useCatalog();
  const products = (catalog.data?.products ?? []).filter((p) => p.seatModel === 'device');
  const chosen = products.find((p) => p.key === route.query.product) ?? products[0];
  const key = chosen?.key ?? '';
  const devices = useLoad(() => (key ? api.all<DeviceActivation>('/v1/devices', { product: key }, 5) : Promise.resolve({ items: [], more: false })), [key], true);
  const licenses = (catalog.data?.licenses ?? []).filter((l) => l.product === key);
  const seats = licenses.reduce((n, l) => n + l.seats, 0);
  const active = devices.data?.items.length ?? 0;
  const columns: Column<DeviceActivation>[] = [
    { head: 'Device', cell: (d) => d.device, class: 'mono' },
    { head: 'License', cell: (d) => catalog.licenseLabel(d.license) },
    { head: 'Kind', cell: (d) => <span class={`badge kind-${d.kind}`}>{d.kind}</span> },
    { head: 'First seen', cell: (d) => dateTime(d.firstSeen, timeZone), opt: true },
    { head: 'Last seen', cell: (d) => <span title={dateTime(d.lastSeen, timeZone)}>{ago(d.lastSeen, now)}</span> },
    { head: 'Active until', cell: (d) => <span title={dateTime(d.activeUntil, timeZone)}>{dateTime(d.activeUntil, timeZone).split(',')[0]}</span> },
  ];

  return (
    <>
      <PageHead title="Devices" />
      <ProblemBox error={catalog.error} />
      {catalog.loading && !catalog.data && <Loading what="Loading products" />}
      {catalog.data && products.length === 0 && (
        <Empty>
          No product counts devices. A product with the seat model “device” gives each activated device a seat for its activation window; set one
          up in <a href="#/setup/products">Set-up → Products</a>.
        </Empty>
      )}
      {chosen && (
        <>
          <form class="filters" aria-label="Product" onSubmit={(e) => e.preventDefault()}>
            <Select label="Product" value={key} onChange={(v) => navigate('/devices', { product: v })} options={products.map((p) => [p.key, p.name || p.key] as const)} />
          </form>
          <div class="device-summary card">
            <Gauge label={`${key}: active devices`} inUse={active} capacity={seats} what="devices active" />
            <p class="muted small">
              A device keeps its seat for {duration(chosen.activationWindow)} after it was first authorised, running or not. Past the seats, up to
              each license’s overage more new devices are let in (marked overage); beyond that new devices are refused and activated ones keep working.
            </p>
          </div>
          <Section
            title={`Activated devices of ${chosen.name || key}`}
            {...listState(devices, devices.data?.items)}
            emptyText="No device holds a seat of this product right now."
          >
            <DataTable rows={devices.data?.items ?? []} columns={columns} rowKey={(d) => d.device} caption="Activated devices" rowCards attrs={(d) => ({ 'data-device': d.device })} />
            {devices.data?.more && <p class="muted small">Showing the first {active}.</p>}
          </Section>
        </>
      )}
    </>
  );
}
