import type { ComponentChildren } from 'preact';
import { Empty, Loading, ProblemBox } from './ui.js';

/** One column of a DataTable: its heading and how a row fills its cell. */
export interface Column<T> {
  head: string;
  cell: (row: T) => ComponentChildren;
  /** Hidden on phones (the `opt` class). */
  opt?: boolean;
  /** The row's buttons: right-aligned, heading for screen readers only. */
  actions?: boolean;
  /** Extra class of each cell (e.g. `mono`). */
  class?: string;
}

export interface TableProps<T> {
  rows: readonly T[];
  columns: ReadonlyArray<Column<T>>;
  rowKey: (row: T, index: number) => string;
  caption?: string;
  inline?: (row: T) => ComponentChildren | null;
  below?: (row: T) => ComponentChildren | null;
  attrs?: (row: T) => Record<string, string>;
  rowClass?: (row: T) => string;
  /** On phones, one card of "label value" pairs per row instead of columns. */
  rowCards?: boolean;
}

/**
 * A plain table from column definitions, so pages say what they show, not how a table is
 * marked up. `inline` swaps a row for one full-width cell (an edit form), `below` adds one
 * under it (a detail), `attrs` sets data attributes the tests find rows by, `rowCards`
 * shows each row as a card of "label value" pairs on phones.
 */
export function DataTable<T>(props: TableProps<T>) {
  const { rows, columns } = props;
  const cls = (c: Column<T>) => [c.opt && 'opt', c.actions && 'actions', c.class].filter(Boolean).join(' ') || undefined;
  const full = (key: string, content: ComponentChildren) => (
    <tr key={key}>
      <td colSpan={columns.length} class="full">
        {content}
      </td>
    </tr>
  );
  return (
    <table class={props.rowCards ? 'rowcards' : undefined}>
      {props.caption && <caption class="sr-only">{props.caption}</caption>}
      <thead>
        <tr>
          {columns.map((c) => (
            <th key={c.head} scope="col" class={c.opt ? 'opt' : undefined}>
              {c.actions ? <span class="sr-only">{c.head}</span> : c.head}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.flatMap((r, i) => {
          const key = props.rowKey(r, i);
          const replaced = props.inline?.(r);
          if (replaced) return [full(key, replaced)];
          const extra = props.below?.(r);
          const row = (
            <tr key={key} class={props.rowClass?.(r) || undefined} {...props.attrs?.(r)}>
              {columns.map((c) => (
                <td key={c.head} class={cls(c)} data-label={c.actions ? undefined : c.head}>
                  {c.actions ? <div class="row-actions">{c.cell(r)}</div> : c.cell(r)}
                </td>
              ))}
            </tr>
          );
          return extra ? [row, full(`${key}-below`, extra)] : [row];
        })}
      </tbody>
    </table>
  );
}

/**
 * A loaded list shown as a table: the load's problem, a loading note, an empty state, or
 * the rows (with `more` below them). The reports are built of these.
 */
export function LoadedTable<T>(
  props: Omit<TableProps<T>, 'rows'> & { rows: readonly T[] | undefined; error: unknown; what?: string; loading: boolean; empty: ComponentChildren; more?: ComponentChildren },
) {
  const { rows, error, what, loading, empty, more, ...table } = props;
  return (
    <>
      <ProblemBox error={error} what={what} />
      {loading && !rows && <Loading />}
      {rows && rows.length === 0 && <Empty>{empty}</Empty>}
      {rows && rows.length > 0 && (
        <div class="table-wrap">
          <DataTable<T> rows={rows} {...table} />
          {more}
        </div>
      )}
    </>
  );
}
