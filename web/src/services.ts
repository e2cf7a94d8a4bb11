// The app's services, wired together: sign-in, the API client, telemetry.

import { ApiClient } from './api/client.ts';
import { AuthStore, browserEnv, type AuthEnv } from './auth/session.ts';
import { callbackPath, type AppConfig } from './config.ts';
import { WaitStore, type AppServices } from './context.ts';
import { parseRoute, routeTemplate } from './lib/router.ts';
import { Telemetry } from './telemetry/events.ts';

export interface ServiceOptions {
  env?: AuthEnv;
  /** How the API client waits out a 429 (tests make it instant). */
  sleep?: (ms: number) => Promise<void>;
  telemetryDelayMs?: number;
}

export function createServices(config: AppConfig, opts: ServiceOptions = {}): AppServices & { dispose: () => void } {
  const auth = new AuthStore(config.auth, opts.env ?? browserEnv());
  const waits = new WaitStore();
  const cb = callbackPath(config.auth.mode === 'cognito' ? config.auth.redirect_uri : undefined);
  const page = () => routeTemplate(parseRoute(location.pathname, cb));
  const telemetry: Telemetry = new Telemetry({
    send: (events, keepalive) => api.sendClientEvents(events, keepalive),
    ready: () => auth.getState().status === 'signed_in',
  }, opts.telemetryDelayMs);
  const api: ApiClient = new ApiClient(config.api_base, auth, {
    onFailure: (f) =>
      telemetry.record({ type: 'api_error', page: page(), api_method: f.method, api_path: f.path, status: f.status, message: f.message }),
    onWait: waits.set,
    sleep: opts.sleep,
  });
  auth.subscribe(() => {
    if (auth.getState().status === 'signed_in') telemetry.wake();
  });
  const uninstall = telemetry.install(window, page);
  telemetry.recordPageLoad(window, page());
  return { config, api, auth, telemetry, waits, dispose: () => {
      uninstall();
      telemetry.stop();
    },
  };
}

