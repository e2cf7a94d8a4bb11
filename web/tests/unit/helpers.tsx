import { render } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, vi } from 'vitest';
import { App } from '../../src/App.tsx';
import type { AppConfig } from '../../src/config.ts';
import { AppContext } from '../../src/context.ts';
import { createServices } from '../../src/services.ts';
import { FakeApi } from './fakeApi.ts';

export const devConfig: AppConfig = { api_base: '/api', auth: { mode: 'dev' } };

let disposers: (() => void)[] = [];
afterEach(() => {
  for (const d of disposers) d();
  disposers = [];
});

export interface RenderOptions {
  path?: string;
  fake?: FakeApi;
  /** Signed in as this dev user before the first render; null = signed out. */
  as?: string | null;
  sleep?: (ms: number) => Promise<void>;
  config?: AppConfig;
}

/** The whole app, as main.tsx builds it, over the in-memory API. */
export function renderApp(opts: RenderOptions = {}) {
  const fake = opts.fake ?? new FakeApi();
  history.replaceState(null, '', opts.path ?? '/');
  vi.stubGlobal('fetch', fake.fetch);
  const services = createServices(opts.config ?? devConfig, { sleep: opts.sleep, telemetryDelayMs: 10 });
  disposers.push(services.dispose);
  const as = opts.as === undefined ? 'alice' : opts.as;
  if (as) services.auth.signInAs(as);
  const user = userEvent.setup();
  const view = render(
    <AppContext.Provider value={services}>
      <App />
    </AppContext.Provider>,
  );
  return { ...view, fake, services, user };
}
