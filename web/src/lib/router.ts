// A small history-API router: the app has eight screens, which doesn't justify a dependency.

import { useSyncExternalStore } from 'react';
import { requestFocus } from './focus.ts';

export type Route =
  | { name: 'home' }
  | { name: 'list'; id: string }
  | { name: 'study'; id: string }
  | { name: 'quiz'; id: string }
  | { name: 'notebook'; id: string }
  | { name: 'notebooks' }
  | { name: 'me' }
  | { name: 'callback' }
  | { name: 'not_found' };

export function parseRoute(pathname: string, callbackPath = '/auth/callback'): Route {
  const path = pathname.replace(/\/+$/, '') || '/';
  if (path === '/') return { name: 'home' };
  if (path === callbackPath.replace(/\/+$/, '')) return { name: 'callback' };
  if (path === '/notebooks') return { name: 'notebooks' };
  if (path === '/me') return { name: 'me' };
  const m = /^\/lists\/([^/]+)(?:\/(study|quiz|notebook))?$/.exec(path);
  if (m) {
    const id = decodeURIComponent(m[1] ?? '');
    const sub = m[2] as 'study' | 'quiz' | 'notebook' | undefined;
    return sub ? { name: sub, id } : { name: 'list', id };
  }
  return { name: 'not_found' };
}

/** The page as a template, for telemetry (`/lists/{list_id}/study`): ids would only add noise. */
export function routeTemplate(route: Route): string {
  switch (route.name) {
    case 'home':
      return '/';
    case 'list':
      return '/lists/{list_id}';
    case 'study':
    case 'quiz':
    case 'notebook':
      return `/lists/{list_id}/${route.name}`;
    case 'notebooks':
      return '/notebooks';
    case 'me':
      return '/me';
    case 'callback':
      return '/auth/callback';
    case 'not_found':
      // A path (the API refuses a page that doesn't start with /), without echoing what was typed.
      return '/{unknown}';
  }
}

const listeners = new Set<() => void>();

function notify(): void {
  for (const l of listeners) l();
}

if (typeof window !== 'undefined') {
  window.addEventListener('popstate', () => {
    requestFocus();
    notify();
  });
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  requestFocus();
  if (opts.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  notify();
}

function subscribe(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** The current location (path + search), re-rendering on navigation. */
export function useLocation(): string {
  return useSyncExternalStore(subscribe, () => location.pathname + location.search);
}
