import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Api } from './api.js';
import { ConsoleContext, type ConsoleCtx } from './context.js';
import { LiveFeed, type LiveMode } from './live.js';
import { POLL_MS, useAlertEvents } from './hooks.js';
import { formatHash, parseHash, section, type Route } from './route.js';
import { clearLogin, isAdminRole, loadLogin, saveLogin, type Login } from './session.js';
import type { Alert, Page, Settings } from './types.js';
import { LoginPage } from './pages/login.js';
import { UsagePage } from './pages/usage.js';
import { LeasesPage } from './pages/leases.js';
import { ReportsPage } from './pages/reports.js';
import { SetupPage } from './pages/setup.js';
import { AlertsPage } from './pages/alerts.js';
import { DevicesPage } from './pages/devices.js';

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function App() {
  const [login, setLogin] = useState<Login | null>(loadLogin);
  const [reason, setReason] = useState<string | null>(null);
  const route = useRoute();

  const logout = useCallback((why: string | null) => {
    clearLogin();
    setReason(why);
    setLogin(null);
  }, []);

  if (!login) {
    return (
      <LoginPage
        reason={reason}
        onLogin={(l) => {
          saveLogin(l);
          setReason(null);
          setLogin(l);
        }}
      />
    );
  }
  return <Shell key={login.token} login={login} route={route} onLogout={logout} />;
}

function Shell({ login, route, onLogout }: { login: Login; route: Route; onLogout: (why: string | null) => void }) {
  const api = useMemo(() => new Api(login.token, (p) => onLogout(`You were logged out: ${p.detail}.`)), [login.token, onLogout]);
  const feed = useMemo(() => new LiveFeed(api), [api]);
  const admin = isAdminRole(login.user);
  const [mode, setMode] = useState<LiveMode>(feed.mode);
  const [timeZone, setTimeZone] = useState<string | undefined>(undefined);

  useEffect(() => {
    const off = feed.onMode(() => setMode(feed.mode));
    feed.start();
    return () => {
      off();
      feed.stop();
    };
  }, [feed]);

  useEffect(() => {
    if (admin) void api.get<Settings>('/v1/settings').then((s) => setTimeZone(s.timezone), () => undefined);
  }, [api, admin]);

  const navigate = useCallback((path: string, query?: Record<string, string | undefined>) => {
    location.hash = formatHash(path, query);
  }, []);

  // Move focus to the page heading on navigation, so keyboard and screen-reader users land
  // on the new page rather than on the link they used.
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  const sec = section(route.path) || 'usage';
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.querySelector('h1')?.focus();
  }, [sec]);

  const ctx: ConsoleCtx = { api, login, admin, feed, timeZone, route, navigate };
  const logout = async () => {
    await api.post('/v1/auth/logout').catch(() => undefined);
    onLogout('You have logged out.');
  };
  const unseen = useUnseenAlerts(api, feed, admin, sec === 'alerts');
  const links = [
    ['usage', 'Usage'], ['leases', 'Leases'],
    ...(admin ? [['devices', 'Devices'], ['reports', 'Reports'], ['alerts', 'Alerts'], ['setup', 'Set-up']] : []),
  ] as const;

  return (
    <ConsoleContext.Provider value={ctx}>
      <a href="#main" class="skip" onClick={(e) => { e.preventDefault(); main.current?.focus(); }}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/usage">
          <span class="brand-mark" aria-hidden="true">◐</span> Seatkeeper
        </a>
        <nav aria-label="Main">
          {links.map(([s, label]) => (
            <a key={s} href={`#/${s}`} aria-current={sec === s ? 'page' : undefined}>
              {label}
              {s === 'alerts' && unseen > 0 && (
                <span class="badge st-new nav-count" aria-label={`${unseen} new`}>
                  {unseen}
                </span>
              )}
            </a>
          ))}
        </nav>
        <div class="who">
          <LiveBadge mode={mode} reason={feed.reason} />
          <span class="small" title={`${login.user.role} of account ${login.account}`}>
            {login.user.username}@{login.account}
          </span>
          <button type="button" onClick={() => void logout()}>
            Log out
          </button>
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {sec === 'usage' && <UsagePage />}
        {sec === 'leases' && <LeasesPage />}
        {sec === 'reports' && (admin ? <ReportsPage /> : <AdminsOnly />)}
        {sec === 'setup' && (admin ? <SetupPage /> : <AdminsOnly />)}
        {sec === 'alerts' && (admin ? <AlertsPage /> : <AdminsOnly />)}
        {sec === 'devices' && (admin ? <DevicesPage /> : <AdminsOnly />)}
        {!['usage', 'leases', 'reports', 'setup', 'alerts', 'devices'].includes(sec) && (
          <>
            <h1 tabIndex={-1}>Not found</h1>
            <p>
              There is no page {route.path}. Go to <a href="#/usage">Usage</a>.
            </p>
          </>
        )}
      </main>
    </ConsoleContext.Provider>
  );
}

/**
 * Alerts fired since the console opened or the Alerts page was last shown, as a count on
 * its link. The stream replays past events when it (re)connects, so an alert counts only if
 * its id is newer than the newest alert the server listed at the start.
 */
function useUnseenAlerts(api: Api, feed: LiveFeed, enabled: boolean, onAlertsPage: boolean): number {
  const [unseen, setUnseen] = useState<ReadonlySet<string>>(new Set());
  const baseline = useRef<string | null>(null);
  const here = useRef(onAlertsPage);
  here.current = onAlertsPage;
  useEffect(() => {
    if (!enabled) return;
    api.get<Page<Alert>>('/v1/alerts', { limit: 1 }).then(
      (p) => (baseline.current = baseline.current ?? p.items[0]?.id ?? ''),
      () => undefined,
    );
  }, [api, enabled]);
  useEffect(() => {
    if (!onAlertsPage) return;
    setUnseen((s) => {
      for (const id of s) if (baseline.current === null || id > baseline.current) baseline.current = id;
      return s.size ? new Set() : s;
    });
  }, [onAlertsPage]);
  useAlertEvents(feed, baseline, (ids) => {
    if (here.current) {
      for (const id of ids) if (id > (baseline.current ?? '')) baseline.current = id;
    } else if (ids.length) setUnseen((s) => new Set([...s, ...ids]));
  });
  return unseen.size;
}

function LiveBadge({ mode, reason }: { mode: LiveMode; reason: string }) {
  const text = mode === 'stream' ? 'Live' : mode === 'poll' ? `Every ${POLL_MS / 1000} s` : 'Connecting';
  const title = mode === 'stream' ? 'Updates arrive on the admin event stream' : mode === 'poll' ? `Polling: ${reason}` : 'Opening the event stream';
  return (
    <span class={`live live-${mode}`} title={title} aria-label={`Updates: ${title}`}>
      <span aria-hidden="true">●</span> {text}
    </span>
  );
}

function AdminsOnly() {
  return (
    <>
      <h1 tabIndex={-1}>Administrators only</h1>
      <p>Devices, reports, alerts and set-up need an owner or admin. <a href="#/leases?mine=1">See your own leases</a>.</p>
    </>
  );
}
