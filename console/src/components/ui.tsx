import type { ComponentChildren } from 'preact';
import { useId, useRef, useState } from 'preact/hooks';
import { ApiProblem, isMissingRoute } from '../api.js';
import { useConsole } from '../context.js';

/**
 * An error as a person can act on it: the problem's detail, its code and status, and for a
 * route this server does not have, a plain "not available on this server".
 */
export function ProblemBox({ error, what }: { error: unknown; what?: string }) {
  if (!error) return null;
  if (isMissingRoute(error)) return <NotAvailable what={what} detail={(error as ApiProblem).detail} />;
  const p = error instanceof ApiProblem ? error : null;
  return (
    <div class="problem" role="alert">
      <strong>{p ? p.title : 'Something went wrong'}</strong>
      <p>{p ? p.detail : error instanceof Error ? error.message : String(error)}</p>
      {p && (
        <p class="problem-code">
          code <code>{p.code}</code>
          {p.status > 0 && <> · HTTP {p.status}</>}
        </p>
      )}
    </div>
  );
}

export function NotAvailable({ what, detail }: { what?: string | undefined; detail?: string | undefined }) {
  return (
    <div class="unavailable" role="status">
      <strong>{what ? `${what}: not available on this server` : 'Not available on this server'}</strong>
      <p>This server does not offer it yet (a newer Seatkeeper version does).{detail && <> The server said: “{detail}”.</>}</p>
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

export function Notice({ children, onClose }: { children: ComponentChildren; onClose?: () => void }) {
  return (
    <div class="notice" role="status">
      <span>{children}</span>
      {onClose && (
        <button type="button" class="link" onClick={onClose} aria-label="Dismiss">
          ✕
        </button>
      )}
    </div>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p class="loading" role="status" aria-live="polite">
      {what}…
    </p>
  );
}

/** The input attributes the forms use. */
interface InputProps {
  type?: 'text' | 'password' | 'number' | 'date' | 'time' | 'email' | 'search' | 'url';
  name?: string;
  required?: boolean;
  min?: number;
  max?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  placeholder?: string;
  autoComplete?: string;
  autoFocus?: boolean;
}

export function TextField(props: { label: string; value: string; onInput: (v: string) => void; hint?: string; wide?: boolean } & InputProps) {
  const { label, value, onInput, hint, wide, ...rest } = props;
  const id = useId();
  return (
    <div class={wide ? 'field wide' : 'field'}>
      <label for={id}>{label}</label>
      <input id={id} value={value} onInput={(e) => onInput(e.currentTarget.value)} aria-describedby={hint ? `${id}-hint` : undefined} {...rest} />
      {hint && (
        <small id={`${id}-hint`} class="hint">
          {hint}
        </small>
      )}
    </div>
  );
}

export function Select<T extends string>(props: {
  label: string;
  value: T;
  options: ReadonlyArray<readonly [T, string]>;
  onChange: (v: T) => void;
  hint?: string;
  name?: string;
}) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select id={id} name={props.name} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value as T)}>
        {props.options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
      {props.hint && <small class="hint">{props.hint}</small>}
    </div>
  );
}

export function Checkbox({ label, checked, onChange, hint }: { label: string; checked: boolean; onChange: (v: boolean) => void; hint?: string }) {
  const id = useId();
  return (
    <div class="field check">
      <input id={id} type="checkbox" checked={checked} onChange={(e) => onChange(e.currentTarget.checked)} />
      <label for={id}>{label}</label>
      {hint && <small class="hint">{hint}</small>}
    </div>
  );
}

/** Copies text; where the Clipboard API is not allowed (plain HTTP), selects it for Ctrl+C. */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState<string | null>(null);
  const ref = useRef<HTMLInputElement>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone('Copied');
    } catch {
      ref.current?.select();
      setDone('Selected: press Ctrl+C');
    }
  };
  return (
    <span class="copy">
      <input ref={ref} readOnly value={text} aria-label={`${label}: value`} class="mono" />
      <button type="button" onClick={() => void copy()}>
        {label}
      </button>
      <span role="status" class="hint">
        {done}
      </span>
    </span>
  );
}

const HASHED = 'Copy it now: the server keeps only a hash and will not show it again.';

/** A one-time secret (API key, endpoint key, webhook signing secret): shown once, with a copy button. */
export function SecretOnce(props: { title: string; secret: string; extra?: ComponentChildren; note?: string; onClose: () => void }) {
  const { title, secret, extra, note = HASHED, onClose } = props;
  return (
    <div class="secret" role="status">
      <strong>{title}</strong>
      <p>{note}</p>
      <CopyButton text={secret} label="Copy secret" />
      {extra}
      <p>
        <button type="button" onClick={onClose}>
          Done
        </button>
      </p>
    </div>
  );
}

/** Runs an action, exposing busy state and its error (for forms and row buttons). */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async <T,>(fn: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, run };
}

/**
 * A section's tabs as links (`#/<base>/<tab>`), the first tab being the default; returns
 * the current tab and the nav to show.
 */
export function useTabs<T extends string>(base: string, label: string, tabs: ReadonlyArray<readonly [T, string]>): { tab: T; nav: ComponentChildren } {
  const { route } = useConsole();
  const tab = tabs.find(([t]) => route.path === `${base}/${t}`)?.[0] ?? tabs[0]![0];
  const nav = (
    <nav class="tabs" aria-label={label}>
      {tabs.map(([t, text]) => (
        <a key={t} href={`#${base}/${t}`} aria-current={t === tab ? 'page' : undefined}>
          {text}
        </a>
      ))}
    </nav>
  );
  return { tab, nav };
}

/** A page's title line: the focusable h1 (focus lands there on navigation) and what sits beside it. */
export function PageHead({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="page-head">
      <h1 tabIndex={-1}>{title}</h1>
      {children}
    </div>
  );
}
