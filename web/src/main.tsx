// Set-up only: read /config.json, build the services, render.

import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { callbackPath, loadConfig, type AppConfig } from './config.ts';
import { AppContext } from './context.ts';
import { parseRoute } from './lib/router.ts';
import { createServices } from './services.ts';
import './styles.css';

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
