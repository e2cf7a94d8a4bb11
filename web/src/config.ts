// The runtime configuration, `GET /config.json` (CONTRACTS.md section A): written by vocab-local,
// or in production an S3 object made at deploy from Terraform outputs. The sign-in UI is chosen
// from `auth.mode` here, never by a build flag.

export interface DevAuth {
  mode: 'dev';
}

export interface CognitoAuth {
  mode: 'cognito';
  issuer: string;
  /** The hosted UI, e.g. https://<prefix>.auth.<region>.amazoncognito.com */
  domain: string;
  client_id: string;
  redirect_uri: string;
  logout_uri: string;
  scopes: string[];
  /** Skips the hosted UI's own page and goes straight to this provider ("Google"). */
  identity_provider?: string;
}

export interface AppConfig {
  api_base: string;
  auth: DevAuth | CognitoAuth;
}

export class ConfigError extends Error {}

function str(o: Record<string, unknown>, k: string, where: string): string {
  const v = o[k];
  if (typeof v !== 'string' || v === '') throw new ConfigError(`${where}.${k} must be a non-empty string`);
  return v;
}

/** An absolute URL, kept exactly as written (redirect URIs must match the app client's byte for byte). */
function url(o: Record<string, unknown>, k: string, where: string): string {
  const v = str(o, k, where);
  try {
    new URL(v);
  } catch {
    throw new ConfigError(`${where}.${k} must be an absolute URL, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function parseConfig(raw: unknown): AppConfig {
  if (!raw || typeof raw !== 'object') throw new ConfigError('config.json must be a JSON object');
  const o = raw as Record<string, unknown>;
  const api_base = typeof o.api_base === 'string' && o.api_base !== '' ? o.api_base : '/api';
  const a = o.auth;
  if (!a || typeof a !== 'object') throw new ConfigError('auth must be an object');
  const auth = a as Record<string, unknown>;
  if (auth.mode === 'dev') return { api_base, auth: { mode: 'dev' } };
  if (auth.mode !== 'cognito') throw new ConfigError(`auth.mode must be "dev" or "cognito", got ${JSON.stringify(auth.mode)}`);
  const scopes = Array.isArray(auth.scopes) && auth.scopes.every((s) => typeof s === 'string') ? (auth.scopes as string[]) : ['openid', 'email', 'profile'];
  return {
    api_base,
    auth: {
      mode: 'cognito',
      issuer: url(auth, 'issuer', 'auth'),
      domain: url(auth, 'domain', 'auth').replace(/\/+$/, ''),
      client_id: str(auth, 'client_id', 'auth'),
      redirect_uri: url(auth, 'redirect_uri', 'auth'),
      logout_uri: url(auth, 'logout_uri', 'auth'),
      scopes,
      identity_provider: typeof auth.identity_provider === 'string' && auth.identity_provider ? auth.identity_provider : undefined,
    },
  };
}

export async function loadConfig(fetchImpl: typeof fetch = fetch): Promise<AppConfig> {
  const res = await fetchImpl('/config.json', { cache: 'no-store', headers: { accept: 'application/json' } });
  if (!res.ok) throw new ConfigError(`GET /config.json answered ${res.status}`);
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw new ConfigError('/config.json is not JSON');
  }
  return parseConfig(body);
}

/** The app's path the hosted UI sends the browser back to (from `redirect_uri`). */
export function callbackPath(redirectUri: string | undefined): string {
  if (!redirectUri) return '/auth/callback';
  try {
    return new URL(redirectUri).pathname;
  } catch {
    return '/auth/callback';
  }
}
