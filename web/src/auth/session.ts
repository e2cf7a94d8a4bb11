// Who is signed in, and the headers that prove it. Two modes, chosen by /config.json:
// - dev: vocab-local's `x-dev-user` header; a "sign in as" form sets it.
// - cognito: the Cognito hosted UI (federated with Google), authorization code + PKCE.
//   Tokens live in this object only — never localStorage or sessionStorage. A reload signs in
//   again through the hosted UI, which answers at once while its own session cookie lasts.
//   What survives the redirect in sessionStorage: the PKCE verifier and state (until the
//   callback), a "was signed in" hint (no secret), and drafts of typed text.
//
// Cognito endpoints used, as documented:
//   authorize: https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html
//   token:     https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html
//   logout:    https://docs.aws.amazon.com/cognito/latest/developerguide/logout-endpoint.html

import type { AuthBridge } from '../api/client.ts';
import type { AppConfig, CognitoAuth } from '../config.ts';
import { clearAllDrafts, parkDrafts, restoreDrafts } from '../lib/drafts.ts';
import { decodeClaims } from './jwt.ts';
import { challengeS256, randomVerifier } from './pkce.ts';

export interface User {
  id: string;
  email?: string;
  name?: string;
  picture?: string;
}

export type AuthState =
  | { status: 'signed_out'; error?: string }
  | { status: 'working'; message: string }
  | { status: 'signed_in'; user: User }
  /** The API said 401: the page stays as it is and a dialog asks to sign in again. */
  | { status: 'expired'; user: User };

export interface AuthEnv {
  fetch: typeof fetch;
  storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;
  redirect(url: string): void;
  now(): number;
  /** Path + query to come back to after a redirect. */
  currentPath(): string;
}

interface Tokens {
  access: string;
  id: string;
  refresh?: string;
  /** When the access token expires, ms since epoch. */
  accessExp: number;
}

interface Pending {
  state: string;
  verifier: string;
  return_to: string;
}

const PKCE_KEY = 'vocab.pkce';
const HINT_KEY = 'vocab.signed_in';
/** Refresh this long before the access token expires. */
const REFRESH_MARGIN_MS = 60_000;
/** After a refresh, a 401 this soon means refreshing again won't help: ask the user. */
const REFRESH_USELESS_WITHIN_MS = 10_000;
/** What vocab-local accepts in `x-dev-user` that a browser can also send as a header. */
export const DEV_USER_PATTERN = /^[A-Za-z0-9._@+-]{1,128}$/;

export class AuthStore implements AuthBridge {
  readonly config: AppConfig['auth'];
  private readonly env: AuthEnv;
  private state: AuthState = { status: 'signed_out' };
  private readonly listeners = new Set<() => void>();
  private tokens: Tokens | null = null;
  private devUser: string | null = null;
  private waiters: ((ok: boolean) => void)[] = [];
  private refreshing: Promise<boolean> | null = null;
  private lastRefresh = -Infinity;

  constructor(config: AppConfig['auth'], env: AuthEnv) {
    this.config = config;
    this.env = env;
  }

  getState = (): AuthState => this.state;

  subscribe = (l: () => void): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };

  private set(s: AuthState): void {
    this.state = s;
    for (const l of this.listeners) l();
  }

  private signedIn(user: User): void {
    this.set({ status: 'signed_in', user });
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r(true);
  }

  // ---- dev mode ----

  /** Returns an error message for an id the header can't carry, else signs in. */
  signInAs(id: string): string | null {
    const v = id.trim();
    if (!DEV_USER_PATTERN.test(v)) return 'Use 1–128 letters, digits or . _ @ + - (no spaces).';
    this.devUser = v;
    this.signedIn({ id: v });
    return null;
  }

  // ---- Cognito ----

  private get cognito(): CognitoAuth {
    if (this.config.mode !== 'cognito') throw new Error('not in cognito mode');
    return this.config;
  }

  /** Sends the browser to the hosted UI. Drafts are parked first when a session ran out. */
  async startSignIn(returnTo = this.env.currentPath()): Promise<void> {
    const c = this.cognito;
    if (this.state.status === 'expired') parkDrafts(this.state.user.id);
    const verifier = randomVerifier();
    const state = randomVerifier();
    const pending: Pending = { state, verifier, return_to: safeReturn(returnTo) };
    this.env.storage.setItem(PKCE_KEY, JSON.stringify(pending));
    const q = new URLSearchParams({
      response_type: 'code',
      client_id: c.client_id,
      redirect_uri: c.redirect_uri,
      scope: c.scopes.join(' '),
      state,
      code_challenge: await challengeS256(verifier),
      code_challenge_method: 'S256',
    });
    if (c.identity_provider) q.set('identity_provider', c.identity_provider);
    this.set({ status: 'working', message: 'Signing in…' });
    this.env.redirect(`${c.domain}/oauth2/authorize?${q.toString()}`);
  }

  /** On app start: someone who was signed in before a reload goes back through the hosted UI. */
  resume(): boolean {
    if (this.config.mode !== 'cognito' || this.env.storage.getItem(HINT_KEY) !== '1') return false;
    void this.startSignIn();
    return true;
  }

  /** Handles the redirect back from the hosted UI; returns where to go next. */
  async completeSignIn(search: string): Promise<string> {
    const c = this.cognito;
    const params = new URLSearchParams(search);
    const raw = this.env.storage.getItem(PKCE_KEY);
    this.env.storage.removeItem(PKCE_KEY);
    const pending = raw ? (JSON.parse(raw) as Pending) : null;
    const fail = (error: string): string => {
      this.env.storage.removeItem(HINT_KEY);
      this.set({ status: 'signed_out', error });
      return '/';
    };
    if (params.get('error')) {
      return fail(`Sign-in was not completed: ${params.get('error_description') || params.get('error')}`);
    }
    const code = params.get('code');
    if (!code || !pending) return fail('The sign-in link is incomplete or was already used. Sign in again.');
    // The state we sent must come back unchanged (RFC 6749 §10.12): a code we didn't ask for is refused.
    if (params.get('state') !== pending.state) return fail('The sign-in answer did not match this browser. Sign in again.');
    this.set({ status: 'working', message: 'Signing in…' });
    const result = await this.tokenRequest({
      grant_type: 'authorization_code',
      client_id: c.client_id,
      code,
      redirect_uri: c.redirect_uri,
      code_verifier: pending.verifier,
    });
    if ('error' in result) return fail(result.error);
    const user = this.accept(result);
    if (!user) return '/';
    this.env.storage.setItem(HINT_KEY, '1');
    restoreDrafts(user.id);
    this.signedIn(user);
    return pending.return_to;
  }

  private async tokenRequest(form: Record<string, string>): Promise<TokenAnswer | { error: string }> {
    let res: Response;
    try {
      res = await this.env.fetch(`${this.cognito.domain}/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
      });
    } catch {
      return { error: 'The sign-in service could not be reached.' };
    }
    let body: Record<string, unknown> = {};
    try {
      body = (await res.json()) as Record<string, unknown>;
    } catch {
      // handled below
    }
    if (!res.ok || typeof body.access_token !== 'string' || typeof body.id_token !== 'string') {
      const e = typeof body.error === 'string' ? body.error : `HTTP ${res.status}`;
      return { error: `Sign-in failed (${e}).` };
    }
    return {
      access_token: body.access_token,
      id_token: body.id_token,
      refresh_token: typeof body.refresh_token === 'string' ? body.refresh_token : undefined,
      expires_in: typeof body.expires_in === 'number' ? body.expires_in : 3600,
    };
  }

  /** Checks the ID token is for this app from this issuer and keeps the tokens. */
  private accept(t: TokenAnswer): User | null {
    const c = this.cognito;
    try {
      const id = decodeClaims(t.id_token);
      const access = decodeClaims(t.access_token);
      const aud = Array.isArray(id.aud) ? id.aud : [id.aud];
      if (id.iss !== c.issuer) throw new Error(`issuer ${String(id.iss)} is not ${c.issuer}`);
      if (!aud.includes(c.client_id)) throw new Error('the ID token is for another app');
      if (id.token_use !== undefined && id.token_use !== 'id') throw new Error('not an ID token');
      if (!id.sub) throw new Error('the ID token has no subject');
      const exp = typeof access.exp === 'number' ? access.exp * 1000 : this.env.now() + t.expires_in * 1000;
      this.tokens = { access: t.access_token, id: t.id_token, refresh: t.refresh_token ?? this.tokens?.refresh, accessExp: exp };
      return {
        id: id.sub,
        email: typeof id.email === 'string' ? id.email : undefined,
        name: typeof id.name === 'string' ? id.name : undefined,
        picture: typeof id.picture === 'string' ? id.picture : undefined,
      };
    } catch (e) {
      this.tokens = null;
      this.set({ status: 'signed_out', error: `Sign-in failed: ${(e as Error).message}.` });
      return null;
    }
  }

  private refresh(): Promise<boolean> {
    if (this.refreshing) return this.refreshing;
    const rt = this.tokens?.refresh;
    if (this.config.mode !== 'cognito' || !rt) return Promise.resolve(false);
    this.lastRefresh = this.env.now();
    this.refreshing = this.tokenRequest({ grant_type: 'refresh_token', client_id: this.cognito.client_id, refresh_token: rt })
      .then((r) => {
        if ('error' in r) return false;
        const user = this.accept({ ...r, refresh_token: r.refresh_token ?? rt });
        if (!user) return false;
        if (this.state.status !== 'expired') this.set({ status: 'signed_in', user });
        return true;
      })
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }

  // ---- what the API client uses ----

  async headers(): Promise<Record<string, string> | null> {
    if (this.config.mode === 'dev') return this.devUser ? { 'x-dev-user': this.devUser } : null;
    if (!this.tokens) return null;
    if (this.tokens.accessExp - this.env.now() < REFRESH_MARGIN_MS && this.tokens.refresh) await this.refresh();
    return this.tokens ? { authorization: `Bearer ${this.tokens.access}` } : null;
  }

  async reauthenticate(): Promise<boolean> {
    if (this.state.status === 'signed_out' || this.state.status === 'working') return false;
    if (this.config.mode === 'cognito' && this.env.now() - this.lastRefresh > REFRESH_USELESS_WITHIN_MS) {
      if (await this.refresh()) return true;
    }
    if (this.state.status === 'signed_in') this.set({ status: 'expired', user: this.state.user });
    return new Promise<boolean>((resolve) => this.waiters.push(resolve));
  }

  signOut(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r(false);
    this.tokens = null;
    this.devUser = null;
    clearAllDrafts();
    this.env.storage.removeItem(HINT_KEY);
    if (this.config.mode === 'cognito') {
      const c = this.config;
      this.set({ status: 'working', message: 'Signing out…' });
      const q = new URLSearchParams({ client_id: c.client_id, logout_uri: c.logout_uri });
      this.env.redirect(`${c.domain}/logout?${q.toString()}`);
    } else {
      this.set({ status: 'signed_out' });
    }
  }
}

interface TokenAnswer {
  access_token: string;
  id_token: string;
  refresh_token?: string;
  expires_in: number;
}

/** Only same-origin paths: a crafted return address must not send anyone elsewhere. */
function safeReturn(path: string): string {
  return path.startsWith('/') && !path.startsWith('//') ? path : '/';
}

export function browserEnv(): AuthEnv {
  return {
    fetch: (i, init) => fetch(i, init),
    storage: sessionStorage,
    redirect: (url) => location.assign(url),
    now: () => Date.now(),
    currentPath: () => location.pathname + location.search,
  };
}
