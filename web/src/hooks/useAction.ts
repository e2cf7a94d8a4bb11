import { useCallback, useState } from 'react';
import type { ApiError } from '../api/client.ts';
import { asApiError } from './useResource.ts';

/** A form's call to the API: busy while it runs, its error kept for the screen. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  /** Runs `fn`; resolves to its value, or to undefined when it failed (see `error`). */
  const run = useCallback(async <T,>(fn: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (e) {
      setError(asApiError(e));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}
