import { useState } from 'preact/hooks';
import { Api } from '../api.js';
import { ProblemBox, TextField, useAction } from '../components/ui.js';
import type { Login } from '../session.js';
import type { User } from '../types.js';

const LAST_ACCOUNT = 'seatkeeper.account';

export function LoginPage({ onLogin, reason }: { onLogin: (l: Login) => void; reason: string | null }) {
  const [account, setAccount] = useState(() => localStorage.getItem(LAST_ACCOUNT) ?? 'default');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, run } = useAction();

  const submit = async (e: Event) => {
    e.preventDefault();
    const r = await run(() => new Api(null).post<{ token: string; expiresAt?: string; user: User }>('/v1/auth/login', { account, username, password }));
    if (!r) return;
    localStorage.setItem(LAST_ACCOUNT, account);
    onLogin({ token: r.token, user: r.user, account, expiresAt: r.expiresAt ?? null });
  };

  return (
    <main class="login" id="main">
      <form class="card login-card" onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
        <h1 id="login-title">
          <span class="brand-mark" aria-hidden="true">◐</span> Seatkeeper
        </h1>
        <p class="muted">Log in to see and steer your licenses.</p>
        {reason && (
          <p class="notice" role="status">
            {reason}
          </p>
        )}
        <TextField label="Account" value={account} onInput={setAccount} autoComplete="organization" required name="account" />
        <TextField label="Username" value={username} onInput={setUsername} autoComplete="username" required name="username" autoFocus />
        <TextField label="Password" type="password" value={password} onInput={setPassword} autoComplete="current-password" required name="password" />
        <ProblemBox error={error} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </main>
  );
}
