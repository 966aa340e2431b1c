import { useEffect, useRef, useState } from 'preact/hooks';
import { useConsole } from '../context.js';
import { useAlertEvents, useCatalog, useLoad } from '../hooks.js';
import { dateTime, parseNumbers, pct } from '../format.js';
import { Checkbox, Notice, PageHead, ProblemBox, TextField, Loading, useAction, useTabs } from '../components/ui.js';
import { FormCard, listState, Section } from '../components/resource.js';
import { DataTable, type Column } from '../components/table.js';
import { DeliveryLog } from '../components/deliveries.js';
import type { Alert, AlertKind, AlertRule, Settings } from '../types.js';

const TABS = [['fired', 'Fired alerts'], ['rules', 'Rules'], ['deliveries', 'E-mail deliveries']] as const;

export const KIND_LABELS: Record<AlertKind, string> = {
  seats: 'Seats in use',
  devices: 'Active devices',
  usage: 'Usage quota',
  'soft-exceptions': 'Soft-license exceptions',
};
const kindLabel = (k: string) => KIND_LABELS[k as AlertKind] ?? k;

/** SPEC §6 alerts: what fired, the thresholds that make it fire, and the e-mails sent. */
export function AlertsPage() {
  const { api } = useConsole();
  const { tab, nav } = useTabs('/alerts', 'Alerts', TABS);
  const check = useAction();
  const [checked, setChecked] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const runCheck = async () => {
    setChecked(null);
    const r = await check.run(async () => (await api.post<{ fired?: unknown[]; alerts?: unknown[] } | undefined>('/v1/alerts/check')) ?? {});
    if (!r) return;
    const fired = r.fired ?? r.alerts;
    setChecked(Array.isArray(fired) ? `Checked now: ${fired.length} new alert(s).` : 'Checked now.');
    setVersion((v) => v + 1);
  };
  return (
    <>
      <PageHead title="Alerts">
        <button type="button" class="primary" onClick={() => void runCheck()} disabled={check.busy}>
          {check.busy ? 'Checking…' : 'Check now'}
        </button>
      </PageHead>
      {nav}
      {checked && <Notice onClose={() => setChecked(null)}>{checked}</Notice>}
      <ProblemBox error={check.error} what="Checking alerts" />
      {tab === 'fired' && <FiredAlerts version={version} />}
      {tab === 'rules' && <Rules />}
      {tab === 'deliveries' && <EmailLog />}
    </>
  );
}

function FiredAlerts({ version }: { version: number }) {
  const { api, feed, timeZone } = useConsole();
  const catalog = useCatalog([version]);
  const list = useLoad(
    () => api.all<Alert>('/v1/alerts', {}, 3).then((r) => ({ more: r.more, items: [...r.items].sort((a, b) => b.at.localeCompare(a.at) || b.id.localeCompare(a.id)) })),
    [version],
    true,
  );
  // Alerts newer than the newest listed when the page opened are marked new as they arrive
  // (a reconnecting stream replays older ones).
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set());
  const baseline = useRef<string | null>(null);
  if (baseline.current === null && list.data) baseline.current = list.data.items.reduce((max, a) => (a.id > max ? a.id : max), '');
  useAlertEvents(feed, baseline, (ids) => {
    if (ids.length) setFresh((s) => new Set([...s, ...ids]));
    void catalog.reload();
  });
  const columns: Column<Alert>[] = [
    {
      head: 'When',
      cell: (a) => (
        <>
          {dateTime(a.at, timeZone)}
          {fresh.has(a.id) && <span class="badge st-new">new</span>}
        </>
      ),
    },
    { head: 'Kind', cell: (a) => kindLabel(a.kind) },
    {
      head: 'License / product',
      cell: (a) => (
        <>
          {a.license !== null && <strong>{catalog.licenseLabel(a.license)} </strong>}
          <span class={a.license !== null ? 'muted' : ''}>{catalog.productName(a.product)}</span>
        </>
      ),
    },
    { head: 'Threshold', cell: (a) => `≥ ${pct(a.threshold)}` },
    { head: 'Value', cell: (a) => <strong class={a.value >= 100 ? 'full-text' : 'warn-text'}>{pct(a.value)}</strong> },
  ];
  return (
    <Section
      title="Fired alerts"
      {...listState(list, list.data?.items)}
      emptyText="No alert has fired. Each threshold of a rule fires once when it is crossed, and again only after the value has fallen below it."
    >
      <DataTable rows={list.data?.items ?? []} columns={columns} rowKey={(a) => a.id} caption="Fired alerts, newest first" rowCards attrs={(a) => ({ 'data-alert-id': a.id })} rowClass={(a) => (fresh.has(a.id) ? 'fresh' : '')} />
      {list.data?.more && <p class="muted small">Showing the first {list.data.items.length} alerts.</p>}
    </Section>
  );
}

function Rules() {
  const { api } = useConsole();
  const list = useLoad(() => api.all<AlertRule>('/v1/alert-rules').then((r) => r.items), []);
  return (
    <section aria-label="Alert rules">
      <p class="muted">
        Each rule compares a value with its thresholds (percent) at every check; a threshold fires once when the value reaches it and re-arms when
        the value falls below it. All conditions met at one check go out in one notification, by e-mail and to webhooks subscribed to <code>alert</code>.
      </p>
      <ProblemBox error={list.error} what="Alert rules" />
      {list.loading && !list.data && <Loading what="Loading rules" />}
      <div class="cards rules">
        {(list.data ?? []).map((r) => (
          <RuleForm key={r.id} rule={r} onSaved={list.reload} />
        ))}
      </div>
    </section>
  );
}

function RuleForm({ rule, onSaved }: { rule: AlertRule; onSaved: () => Promise<void> }) {
  const { api } = useConsole();
  const stored = rule.thresholds.join(', ');
  const [text, setText] = useState(stored);
  const [enabled, setEnabled] = useState(rule.enabled);
  const [saved, setSaved] = useState(false);
  // What the server stored (sorted) replaces what was typed, when it changes. Not on mount:
  // effects run after paint (later still on a busy machine), and the state already starts
  // from it, so a mount-time sync could only overwrite what the user typed meanwhile.
  const synced = useRef(`${stored}|${rule.enabled}`);
  useEffect(() => {
    const now = `${stored}|${rule.enabled}`;
    if (synced.current === now) return;
    synced.current = now;
    setText(stored);
    setEnabled(rule.enabled);
  }, [stored, rule.enabled]);
  const { busy, error, run } = useAction();
  const dirty = text !== stored || enabled !== rule.enabled;
  const submit = async () => {
    setSaved(false);
    const r = await run(() => api.patch<AlertRule>(`/v1/alert-rules/${encodeURIComponent(rule.id)}`, { thresholds: parseNumbers(text, 'Thresholds'), enabled }));
    if (!r) return;
    await onSaved(); // refreshed first, so typing after "saved" is not overwritten
    setSaved(true);
  };
  return (
    <FormCard
      title={kindLabel(rule.kind)}
      submit="Save rule"
      busy={busy}
      error={error}
      onSubmit={() => void submit()}
      {...(dirty
        ? {
            cancel: 'Revert',
            onCancel: () => {
              setText(stored);
              setEnabled(rule.enabled);
            },
          }
        : {})}
      intro={
        <p class="muted small">
          {rule.description}
          {!rule.enabled && <span class="badge st-ended">off</span>}
        </p>
      }
    >
      <TextField label="Thresholds (%)" value={text} onInput={setText} hint="Comma-separated, e.g. 75, 90, 100" />
      <Checkbox label="Enabled" checked={enabled} onChange={setEnabled} />
      {saved && !dirty && (
        <div class="field wide">
          <Notice onClose={() => setSaved(false)}>Saved: {rule.thresholds.map((t) => pct(t)).join(', ')}.</Notice>
        </div>
      )}
    </FormCard>
  );
}

function EmailLog() {
  const { api } = useConsole();
  const settings = useLoad(() => api.get<Settings>('/v1/settings'), []);
  const recipients = settings.data?.alertRecipients ?? '';
  return (
    <DeliveryLog
      path="/v1/alerts/deliveries"
      title="E-mail deliveries"
      intro={
        settings.data && (
          <p class="muted">
            {recipients ? (
              <>
                Alerts are e-mailed to <strong>{recipients.split(';').map((s) => s.trim()).filter(Boolean).join(', ')}</strong>
              </>
            ) : (
              'No alert recipients are set, so no e-mail is sent'
            )}{' '}
            (change it in <a href="#/setup/settings">Set-up → Settings</a>); checks run every {settings.data.alertCheckInterval} s.
          </p>
        )
      }
      emptyText="No alert e-mail has been sent yet."
    />
  );
}
