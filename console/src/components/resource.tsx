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
}) {
  const [open, setOpen] = useState(false);
  return (
    <section aria-label={props.title}>
      <div class="section-head">
        <h2>{props.title}</h2>
        {props.form && !open && (
          <button type="button" class="primary" onClick={() => setOpen(true)}>
            {props.newLabel}
          </button>
        )}
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

/** A create/edit form card with its submit button and error. */
export function FormCard(props: { title: string; submit: string; busy: boolean; error: unknown; onSubmit: () => void; onCancel: () => void; children: ComponentChildren }) {
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
      <div class="grid">{props.children}</div>
      <ProblemBox error={props.error} />
      <div class="buttons">
        <button type="submit" class="primary" disabled={props.busy}>
          {props.busy ? 'Saving…' : props.submit}
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** Deletes after the browser's confirmation; the error stays beside the list. */
export function useDelete(reload: () => Promise<void>) {
  const { api } = useConsole();
  const action = useAction();
  const remove = async (path: string, question: string) => {
    if (!window.confirm(question)) return;
    await action.run(() => api.delete(path));
    await reload();
  };
  return { remove, error: action.error, busy: action.busy };
}
