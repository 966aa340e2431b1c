/**
 * The statements `fn` sends to PostgreSQL, as their texts, seen at the pg client (every
 * connection of every pool in this process): for tests of how many round trips a path takes.
 */
import pg from 'pg';
import { vi } from 'vitest';

export async function sentStatements<T>(fn: () => Promise<T>): Promise<{ value: T; sent: string[] }> {
  const query = vi.spyOn(pg.Client.prototype, 'query');
  try {
    const value = await fn();
    const sent = query.mock.calls.map(([q]) => (typeof q === 'string' ? q : String((q as { text?: unknown }).text)));
    return { value, sent };
  } finally {
    query.mockRestore();
  }
}
