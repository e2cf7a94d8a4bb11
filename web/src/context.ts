import { createContext, useContext, useSyncExternalStore } from 'react';
import type { ApiClient } from './api/client.ts';
import type { AuthState, AuthStore } from './auth/session.ts';
import type { AppConfig } from './config.ts';
import type { Telemetry } from './telemetry/events.ts';

export interface AppServices {
  config: AppConfig;
  api: ApiClient;
  auth: AuthStore;
  telemetry: Telemetry;
  /** When a 429 is being waited out: until this time (ms since epoch). */
  waits: WaitStore;
}

export const AppContext = createContext<AppServices | null>(null);

export function useApp(): AppServices {
  const s = useContext(AppContext);
  if (!s) throw new Error('useApp outside <AppContext.Provider>');
  return s;
}

export function useAuthState(): AuthState {
  const { auth } = useApp();
  return useSyncExternalStore(auth.subscribe, auth.getState);
}

/** The API client's "waiting for Retry-After" state, for the banner. */
export class WaitStore {
  private until: number | null = null;
  private readonly listeners = new Set<() => void>();
  set = (until: number | null): void => {
    this.until = until;
    for (const l of this.listeners) l();
  };
  get = (): number | null => this.until;
  subscribe = (l: () => void): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };
}

export function useWaitUntil(): number | null {
  const { waits } = useApp();
  return useSyncExternalStore(waits.subscribe, waits.get);
}
