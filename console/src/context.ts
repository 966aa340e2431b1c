import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Api } from './api.js';
import type { LiveFeed } from './live.js';
import type { Route } from './route.js';
import type { Login } from './session.js';

/** What every page of a logged-in console is given. */
export interface ConsoleCtx {
  api: Api;
  login: Login;
  admin: boolean;
  feed: LiveFeed;
  /** The account's time zone once known (admins read it from settings), for times in reports. */
  timeZone: string | undefined;
  route: Route;
  navigate(path: string, query?: Record<string, string | undefined>): void;
}

export const ConsoleContext = createContext<ConsoleCtx | null>(null);

export function useConsole(): ConsoleCtx {
  const c = useContext(ConsoleContext);
  if (!c) throw new Error('useConsole outside the logged-in console');
  return c;
}
