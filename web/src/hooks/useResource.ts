// Data for a screen: loading → ready | error, with reload and local edits (optimistic updates).

import { useCallback, useEffect, useEffectEvent, useState } from 'react';
import { ApiError } from '../api/client.ts';

export type Resource<T> =
  | { status: 'loading'; data: undefined; error: undefined }
  | { status: 'ready'; data: T; error: undefined }
  | { status: 'error'; data: undefined; error: ApiError };

export interface ResourceHandle<T> {
  res: Resource<T>;
  reload: () => void;
  /** Changes the loaded value in place (no-op while not ready). */
  update: (f: (old: T) => T) => void;
}

export function asApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  return new ApiError(-1, 'client', e instanceof Error ? e.message : String(e));
}

function sameDeps(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
}

const LOADING = { status: 'loading', data: undefined, error: undefined } as const;

export function useResource<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): ResourceHandle<T> {
  const [nonce, setNonce] = useState(0);
  const key = [...deps, nonce];
  const [res, setRes] = useState<Resource<T>>(LOADING);
  const [loadedKey, setLoadedKey] = useState<readonly unknown[]>(key);
  // New inputs: show loading at once, in the same render (React's "adjust state when props
  // change" pattern), rather than one render late from an effect.
  if (!sameDeps(loadedKey, key)) {
    setLoadedKey(key);
    setRes(LOADING);
  }
  const onLoad = useEffectEvent(load);

  useEffect(() => {
    const ctl = new AbortController();
    onLoad(ctl.signal).then(
      (data) => {
        if (!ctl.signal.aborted) setRes({ status: 'ready', data, error: undefined });
      },
      (e: unknown) => {
        if (!ctl.signal.aborted) setRes({ status: 'error', data: undefined, error: asApiError(e) });
      },
    );
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, key);

  const reload = useCallback(() => setNonce((n) => n + 1), []);

  // Offline → back online: load again by itself.
  useEffect(() => {
    if (res.status !== 'error' || res.error.kind !== 'offline') return;
    window.addEventListener('online', reload);
    return () => window.removeEventListener('online', reload);
  }, [res, reload]);

  const update = useCallback((f: (old: T) => T) => {
    setRes((r) => (r.status === 'ready' ? { ...r, data: f(r.data) } : r));
  }, []);

  return { res, reload, update };
}
