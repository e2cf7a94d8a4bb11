// Set-up only: read /config.json, build the services, render.

import { createRoot } from 'react-dom/client';
import { ApiClient } from './api/client.ts';
import { App, callbackPath } from './App.tsx';
import { AuthStore, browserEnv } from './auth/session.ts';
import { loadConfig, type AppConfig } from './config.ts';
import { AppContext, WaitStore, type AppServices } from './context.ts';
import { parseRoute, routeTemplate } from './lib/router.ts';
import { Telemetry } from './telemetry/events.ts';
import './styles.css';

export function createServices(config: AppConfig): AppServices {
  const auth = new AuthStore(config.auth, browserEnv());
  const waits = new WaitStore();
  const cb = callbackPath(config.auth.mode === 'cognito' ? config.auth.redirect_uri : undefined);
  const page = () => routeTemplate(parseRoute(location.pathname, cb));
  const telemetry: Telemetry = new Telemetry({
    send: (events, keepalive) => api.sendClientEvents(events, keepalive),
    ready: () => auth.getState().status === 'signed_in',
  });
  const api: ApiClient = new ApiClient(config.api_base, auth, {
    onFailure: (f) =>
      telemetry.record({ type: 'api_error', page: page(), api_method: f.method, api_path: f.path, status: f.status, message: f.message }),
    onWait: waits.set,
  });
  auth.subscribe(() => {
    if (auth.getState().status === 'signed_in') telemetry.wake();
  });
  telemetry.install(window, page);
  telemetry.recordPageLoad(window, page());
  return { config, api, auth, telemetry, waits };
}

async function start(): Promise<void> {
  const el = document.getElementById('root');
  if (!el) return;
  const root = createRoot(el);
  let config: AppConfig;
  try {
    config = await loadConfig();
  } catch (e) {
    root.render(
      <main id="main" className="sign-in">
        <div className="error-panel" role="alert">
          <p className="error-title">The app can't start: its configuration didn't load.</p>
          <p>{(e as Error).message}</p>
          <button type="button" onClick={() => location.reload()}>
            Try again
          </button>
        </div>
      </main>,
    );
    return;
  }
  const services = createServices(config);
  const cb = callbackPath(config.auth.mode === 'cognito' ? config.auth.redirect_uri : undefined);
  if (parseRoute(location.pathname, cb).name !== 'callback') services.auth.resume();
  root.render(
    <AppContext.Provider value={services}>
      <App />
    </AppContext.Provider>,
  );
}

void start();
