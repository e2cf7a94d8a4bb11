// What the user has typed but not yet saved. Forms keep it in React state as usual; this mirror
// exists for the one case where the page itself must go away: signing in again through the
// Cognito hosted UI is a full-page redirect, so the drafts are parked in sessionStorage (never
// tokens) and put back when the same user returns.

import { useCallback, useEffect, useState } from 'react';

const STORAGE_KEY = 'vocab.drafts';
const drafts = new Map<string, unknown>();

export function parkDrafts(owner: string): void {
  if (drafts.size === 0) return;
  try {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ owner, drafts: [...drafts] }));
  } catch {
    // Storage full or disabled: the drafts are lost, which is what would happen without this.
  }
}

/** Restores the parked drafts if `owner` is the user who left them; drops them otherwise. */
export function restoreDrafts(owner: string): number {
  let raw: string | null;
  try {
    raw = sessionStorage.getItem(STORAGE_KEY);
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    return 0;
  }
  if (!raw) return 0;
  try {
    const parsed = JSON.parse(raw) as { owner: string; drafts: [string, unknown][] };
    if (parsed.owner !== owner) return 0;
    for (const [k, v] of parsed.drafts) drafts.set(k, v);
    return parsed.drafts.length;
  } catch {
    return 0;
  }
}

export function clearAllDrafts(): void {
  drafts.clear();
}

/** useState whose value survives a sign-in redirect. `key` must be stable for the form. */
export function useDraft<T>(key: string, initial: T): [T, (v: T | ((old: T) => T)) => void, () => void] {
  const [value, setValue] = useState<T>(() => (drafts.has(key) ? (drafts.get(key) as T) : initial));
  useEffect(() => {
    if (value === initial || (typeof value === 'string' && value === '')) drafts.delete(key);
    else drafts.set(key, value);
  }, [key, value, initial]);
  const clear = useCallback(() => {
    drafts.delete(key);
    setValue(initial);
  }, [key, initial]);
  return [value, setValue, clear];
}
