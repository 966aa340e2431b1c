import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { useConsole } from '../context.js';
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
