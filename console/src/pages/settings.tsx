import { useEffect, useMemo, useState } from 'preact/hooks';
import { useConsole } from '../context.js';
import { useLoad } from '../hooks.js';
import { Checkbox, Loading, Notice, ProblemBox, Select, TextField, useAction } from '../components/ui.js';
import type { Scope, Settings } from '../types.js';

const SCOPES = [['none', 'none'], ['own', 'own leases'], ['domain', 'whole account']] as const;

function timeZones(): string[] {
  try {
    return (Intl as unknown as { supportedValuesOf(k: string): string[] }).supportedValuesOf('timeZone');
  } catch {
    return ['UTC'];
  }
}

type Form = {
  timezone: string; dailyReset: string; flexMax: string; ppuEnabled: boolean; lowThreshold: string;
  view: Scope; control: Scope; alertRecipients: string; alertCheckInterval: string;
};

function formOf(s: Settings): Form {
  return {
    timezone: s.timezone, dailyReset: s.dailyReset, flexMax: String(s.flexMax), ppuEnabled: s.ppu.enabled,
    lowThreshold: String(s.ppu.lowThreshold ?? 30), view: s.permissions.view, control: s.permissions.control,
    alertRecipients: s.alertRecipients, alertCheckInterval: String(s.alertCheckInterval),
  };
}

/** Account settings (PATCH /v1/settings) and pay-per-use top-ups. */
export function SettingsTab() {
  const { api } = useConsole();
  const current = useLoad(() => api.get<Settings>('/v1/settings'), []);
  const [f, setF] = useState<null | Form>(null);
  const zones = useMemo(timeZones, []);
  // The form starts from the first load only; after a save it takes the saved answer (below).
  // Re-syncing on every load would overwrite what the user is typing.
  useEffect(() => {
    if (current.data && f === null) setF(formOf(current.data));
  }, [current.data]);
  const save = useAction();
  const [saved, setSaved] = useState(false);
  const topup = useAction();
  const [minutes, setMinutes] = useState('600');
  const [balance, setBalance] = useState<number | null>(null);

  if (current.error) return <ProblemBox error={current.error} what="Settings" />;
  if (!f || !current.data) return <Loading what="Loading settings" />;
  const set = <K extends keyof typeof f>(k: K) => (v: (typeof f)[K]) => setF({ ...f, [k]: v });

  const submit = async (e: Event) => {
    e.preventDefault();
    setSaved(false);
    const r = await save.run(() =>
      api.patch<Settings>('/v1/settings', {
        timezone: f.timezone,
        dailyReset: f.dailyReset,
        flexMax: Number(f.flexMax),
        ppu: { enabled: f.ppuEnabled, lowThreshold: Number(f.lowThreshold) },
        permissions: { view: f.view, control: f.control },
        alertRecipients: f.alertRecipients,
        alertCheckInterval: Number(f.alertCheckInterval),
      }),
    );
    if (r) {
      setF(formOf(r));
      setSaved(true);
      void current.reload(); // the balance and pay-per-use labels below read the loaded settings
    }
  };
  const addMinutes = async (e: Event) => {
    e.preventDefault();
    const r = await topup.run(() => api.post<{ balanceMinutes: number }>('/v1/ppu/topup', { minutes: Number(minutes) }));
    if (r) setBalance(r.balanceMinutes);
  };

  return (
    <section aria-label="Settings" class="stack">
      <form class="card form" onSubmit={(e) => void submit(e)} aria-label="Account settings">
        <h2>Account settings</h2>
        <div class="grid">
          <div class="field">
            <label for="tz">Time zone</label>
            <input id="tz" list="tz-list" value={f.timezone} onInput={(e) => set('timezone')(e.currentTarget.value)} required aria-describedby="tz-hint" />
            <datalist id="tz-list">
              {zones.map((z) => (
                <option key={z} value={z} />
              ))}
            </datalist>
            <small id="tz-hint" class="hint">
              For the daily reset and reports
            </small>
          </div>
          <TextField label="Daily reset" type="time" value={f.dailyReset} onInput={set('dailyReset')} required hint="Leases held until reset are released then" />
          <TextField label="Flex maximum" type="number" min={0} value={f.flexMax} onInput={set('flexMax')} hint="Flex leases the account may hold at once" />
          <Select label="Members may view" value={f.view} onChange={set('view')} options={SCOPES} />
          <Select label="Members may end" value={f.control} onChange={set('control')} options={SCOPES} hint="Never more than view" />
          <Checkbox label="Pay-per-use enabled" checked={f.ppuEnabled} onChange={set('ppuEnabled')} hint="When every seat is taken, bill minutes instead of refusing" />
          <TextField label="Low balance warning (min)" type="number" min={0} value={f.lowThreshold} onInput={set('lowThreshold')} />
          <TextField label="Alert recipients" wide value={f.alertRecipients} onInput={set('alertRecipients')} placeholder="ops@example.org;it@example.org" hint="E-mail addresses, separated by semicolons" />
          <TextField
            label="Alert check interval (s)"
            type="number"
            min={10}
            max={86_400}
            value={f.alertCheckInterval}
            onInput={set('alertCheckInterval')}
            hint="How often alert rules are checked (Alerts → Check now runs one at once)"
          />
        </div>
        <ProblemBox error={save.error} />
        {saved && <Notice onClose={() => setSaved(false)}>Settings saved.</Notice>}
        <div class="buttons">
          <button type="submit" class="primary" disabled={save.busy}>
            {save.busy ? 'Saving…' : 'Save settings'}
          </button>
        </div>
      </form>

      <form class="card form" onSubmit={(e) => void addMinutes(e)} aria-label="Pay-per-use balance">
        <h2>Pay-per-use balance</h2>
        <p>
          Balance: <strong data-testid="ppu-balance">{balance ?? current.data.ppu.balanceMinutes}</strong> minutes
          {!current.data.ppu.enabled && <span class="muted"> (pay-per-use is off)</span>}
        </p>
        <div class="grid">
          <TextField label="Minutes to add" type="number" min={1} value={minutes} onInput={setMinutes} required />
        </div>
        <ProblemBox error={topup.error} />
        <div class="buttons">
          <button type="submit" disabled={topup.busy}>
            Top up
          </button>
        </div>
      </form>
    </section>
  );
}
