import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { useConsole } from '../context.js';
import type { Loaded } from '../hooks.js';
import { Empty, Loading, ProblemBox, useAction } from './ui.js';

/** A list section: heading, "New …" toggle with its form, then the table or an empty state. */
export function Section(props: {
  title: string;
  newLabel?: string;
  form?: (close: () => void) => ComponentChildren;
  error: unknown;
  loading: boolean;
  empty: boolean;
  emptyText: ComponentChildren;
  children: ComponentChildren;
  above?: ComponentChildren;
  /** Buttons beside the heading (besides "New …"). */
  actions?: ComponentChildren;
}) {
  const [open, setOpen] = useState(false);
  return (
    <section aria-label={props.title}>
      <div class="section-head">
        <h2>{props.title}</h2>
        <div class="buttons">
          {props.actions}
          {props.form && !open && (
            <button type="button" class="primary" onClick={() => setOpen(true)}>
              {props.newLabel}
            </button>
          )}
        </div>
      </div>
      {open && props.form?.(() => setOpen(false))}
      {props.above}
      <ProblemBox error={props.error} what={props.title} />
      {props.loading && <Loading />}
      {!props.loading && !props.error && props.empty && <Empty>{props.emptyText}</Empty>}
      {!props.empty && <div class="table-wrap">{props.children}</div>}
    </section>
  );
}

/** A create/edit form card with its submit button and error; Cancel when `onCancel` is given. */
export function FormCard(props: {
  title: string;
  submit: string;
  busy: boolean;
  error: unknown;
  onSubmit: () => void;
  onCancel?: () => void;
  cancel?: string;
  intro?: ComponentChildren;
  children: ComponentChildren;
}) {
  return (
    <form
      class="card form"
      aria-label={props.title}
      onSubmit={(e) => {
        e.preventDefault();
        props.onSubmit();
      }}
    >
      <h3>{props.title}</h3>
      {props.intro}
      <div class="grid">{props.children}</div>
      <ProblemBox error={props.error} />
      <div class="buttons">
        <button type="submit" class="primary" disabled={props.busy}>
          {props.busy ? 'Saving…' : props.submit}
        </button>
        {props.onCancel && (
          <button type="button" onClick={props.onCancel}>
            {props.cancel ?? 'Cancel'}
          </button>
        )}
      </div>
    </form>
  );
}

/** Runs an action after the browser's confirmation, then reloads; the error stays beside the list. */
export function useConfirmed(reload: () => Promise<void>) {
  const action = useAction();
  const confirmThen = async (question: string, fn: () => Promise<unknown>) => {
    if (!window.confirm(question)) return;
    await action.run(fn);
    await reload();
  };
  return { confirmThen, error: action.error, busy: action.busy };
}

/** Deletes after the browser's confirmation; the error stays beside the list. */
export function useDelete(reload: () => Promise<void>) {
  const { api } = useConsole();
  const c = useConfirmed(reload);
  const remove = (path: string, question: string) => c.confirmThen(question, () => api.delete(path));
  return { remove, error: c.error, busy: c.busy };
}

/**
 * Which row of a list is edited in place: `start(id)` opens it, `form(id, render)` gives that
 * row's form (the others get nothing), which reloads the list and closes when saved.
 */
export function useInlineEdit(reload: () => Promise<void>) {
  const [editing, setEditing] = useState<string | null>(null);
  const done = () => void reload().then(() => setEditing(null));
  const cancel = () => setEditing(null);
  return {
    start: (id: string) => setEditing(id),
    form: (id: string, render: (onDone: () => void, onCancel: () => void) => ComponentChildren) => (editing === id ? render(done, cancel) : null),
  };
}

/** A form's fields (`set(name)` makes a field's onInput) and its submission's busy state and error. */
export function useFields<F extends object>(initial: F) {
  const [f, setF] = useState(initial);
  const set =
    <K extends keyof F>(k: K) =>
    (v: F[K]) =>
      setF({ ...f, [k]: v });
  return { f, setF, set, ...useAction() };
}

/** A Section's state for a loaded list of `rows`: its error (else an action's), loading until the first answer, empty. */
export function listState(list: Loaded<unknown>, rows: readonly unknown[] | undefined, ...errors: unknown[]) {
  return { error: list.error ?? errors.find(Boolean) ?? null, loading: list.loading && !list.data, empty: (rows ?? []).length === 0 };
}

/**
 * A "New …" form whose answer is kept to be shown once (a one-time secret): `form(render)`
 * is Section's form, `created` the answer until `clear()`.
 */
export function useCreateOnce<T>(reload: () => Promise<void>) {
  const [created, setCreated] = useState<T | null>(null);
  const form = (render: (onDone: (t: T) => void, onCancel: () => void) => ComponentChildren) => (close: () => void) =>
    render((t) => {
      setCreated(t);
      close();
      void reload();
    }, close);
  return { created, clear: () => setCreated(null), form };
}

/** A row's Edit (or Rename…) and Delete (or Revoke…) buttons, labelled with what they act on. */
export function EditDelete({ what, onEdit, onDelete, edit = 'Edit', remove = 'Delete' }: { what: string; onEdit?: () => void; onDelete: () => void; edit?: string; remove?: string }) {
  return (
    <>
      {onEdit && (
        <button type="button" onClick={onEdit} aria-label={`${edit} ${what}`}>
          {edit}
        </button>
      )}
      <button type="button" class="danger" onClick={onDelete} aria-label={`${remove} ${what}`}>
        {remove}
      </button>
    </>
  );
}
