// Cognito sign-in: authorization code + PKCE against the hosted UI's documented endpoints,
// tokens in memory only, refresh, sign-in again on 401, sign-out.

import { describe, expect, it } from 'vitest';
import { AuthStore, type AuthEnv } from '../../src/auth/session.ts';
import { base64url, challengeS256 } from '../../src/auth/pkce.ts';
import type { CognitoAuth } from '../../src/config.ts';

const cfg: CognitoAuth = {
  mode: 'cognito',
  issuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool',
  domain: 'https://vocab.auth.us-east-1.amazoncognito.com',
  client_id: 'client123',
  redirect_uri: 'https://app.example/auth/callback',
  logout_uri: 'https://app.example/',
  scopes: ['openid', 'email', 'profile'],
  identity_provider: 'Google',
};

const b64 = (o: object) => base64url(new TextEncoder().encode(JSON.stringify(o)));
const jwt = (claims: object) => `${b64({ alg: 'RS256', kid: 'k' })}.${b64(claims)}.sig`;

function tokens(nowS: number, over: { id?: object; access?: object } = {}) {
  return {
    id_token: jwt({ iss: cfg.issuer, aud: cfg.client_id, token_use: 'id', sub: 'sub-1', email: 'mina@example.com', picture: 'https://lh3.googleusercontent.com/a/x', exp: nowS + 3600, ...over.id }),
    access_token: jwt({ iss: cfg.issuer, client_id: cfg.client_id, token_use: 'access', sub: 'sub-1', exp: nowS + 3600, ...over.access }),
    refresh_token: 'refresh-1',
    token_type: 'Bearer',
    expires_in: 3600,
  };
}

class MemStorage {
  m = new Map<string, string>();
  getItem = (k: string) => this.m.get(k) ?? null;
  setItem = (k: string, v: string) => void this.m.set(k, v);
  removeItem = (k: string) => void this.m.delete(k);
}

function setup(answers: ((form: URLSearchParams) => Response)[] = []) {
  const redirects: string[] = [];
  const posts: { url: string; form: URLSearchParams; headers: Record<string, string> }[] = [];
  let now = Date.UTC(2026, 10, 25, 8, 0, 0);
  const storage = new MemStorage();
  const env: AuthEnv = {
    fetch: async (url, init) => {
      const form = new URLSearchParams(String(init?.body));
      posts.push({ url: String(url), form, headers: init?.headers as Record<string, string> });
      const a = answers.shift();
      if (!a) throw new TypeError('Failed to fetch');
      return a(form);
    },
    storage,
    redirect: (u) => void redirects.push(u),
    now: () => now,
    currentPath: () => '/lists/abc?x=1',
  };
  const store = new AuthStore(cfg, env);
  return { store, redirects, posts, storage, advance: (ms: number) => (now += ms), nowS: () => Math.floor(now / 1000) };
}

const ok = (body: object) => () => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });

async function signIn(s: ReturnType<typeof setup>) {
  await s.store.startSignIn();
  const auth = new URL(s.redirects[0]!);
  const state = auth.searchParams.get('state')!;
  const to = await s.store.completeSignIn(`?code=the-code&state=${state}`);
  return { auth, to };
}

describe('Cognito sign-in', () => {
  it('sends the browser to the authorize endpoint with a S256 PKCE challenge, state and the Google provider', async () => {
    const s = setup();
    await s.store.startSignIn();
    const u = new URL(s.redirects[0]!);
    expect(u.origin + u.pathname).toBe('https://vocab.auth.us-east-1.amazoncognito.com/oauth2/authorize');
    expect(Object.fromEntries(u.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: 'client123',
      redirect_uri: 'https://app.example/auth/callback',
      scope: 'openid email profile',
      code_challenge_method: 'S256',
      identity_provider: 'Google',
    });
    const pending = JSON.parse(s.storage.getItem('vocab.pkce')!) as { verifier: string; state: string; return_to: string };
    expect(pending.verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(u.searchParams.get('code_challenge')).toBe(await challengeS256(pending.verifier));
    expect(u.searchParams.get('state')).toBe(pending.state);
    expect(pending.return_to).toBe('/lists/abc?x=1');
  });

  it('computes the challenge as RFC 7636 appendix B does', async () => {
    expect(await challengeS256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });

  it('trades the code for tokens with the verifier, keeps them in memory only, and shows picture and e-mail', async () => {
    const s = setup([ok(tokens(Math.floor(Date.UTC(2026, 10, 25, 8) / 1000)))]);
    const { to } = await signIn(s);
    expect(to).toBe('/lists/abc?x=1');
    const post = s.posts[0]!;
    expect(post.url).toBe('https://vocab.auth.us-east-1.amazoncognito.com/oauth2/token');
    expect(post.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(post.form)).toMatchObject({ grant_type: 'authorization_code', client_id: 'client123', code: 'the-code', redirect_uri: cfg.redirect_uri });
    expect(post.form.get('code_verifier')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(s.store.getState()).toEqual({
      status: 'signed_in',
      user: { id: 'sub-1', email: 'mina@example.com', name: undefined, picture: 'https://lh3.googleusercontent.com/a/x' },
    });
    const auth = await s.store.headers();
    expect(auth?.authorization).toMatch(/^Bearer ey/);
    // Nothing that could act as the user is stored: no token in sessionStorage, none in localStorage.
    const stored = [...s.storage.m.values()].join(' ');
    expect(stored).not.toContain(auth!.authorization!.slice(7));
    expect(stored).not.toContain('refresh-1');
    expect(s.storage.m.has('vocab.pkce')).toBe(false);
    expect(localStorage.length).toBe(0);
  });

  it('refuses an answer whose state does not match (a code this browser did not ask for)', async () => {
    const s = setup([ok(tokens(0))]);
    await s.store.startSignIn();
    await s.store.completeSignIn('?code=stolen&state=other');
    expect(s.store.getState()).toMatchObject({ status: 'signed_out', error: expect.stringMatching(/did not match/) });
    expect(s.posts).toEqual([]);
  });

  it('shows the error the hosted UI sent back', async () => {
    const s = setup();
    await s.store.startSignIn();
    await s.store.completeSignIn('?error=access_denied&error_description=User+cancelled');
    expect(s.store.getState()).toMatchObject({ status: 'signed_out', error: 'Sign-in was not completed: User cancelled' });
  });

  it("refuses tokens from another issuer or for another app", async () => {
    for (const bad of [{ id: { iss: 'https://evil.example' } }, { id: { aud: 'other-client' } }]) {
      const s = setup([ok(tokens(0, bad))]);
      await signIn(s);
      expect(s.store.getState()).toMatchObject({ status: 'signed_out', error: expect.stringMatching(/^Sign-in failed/) });
      expect(await s.store.headers()).toBeNull();
    }
  });

  it('reports a refused code exchange (invalid_grant)', async () => {
    const s = setup([() => new Response(JSON.stringify({ error: 'invalid_grant' }), { status: 400 })]);
    await signIn(s);
    expect(s.store.getState()).toMatchObject({ status: 'signed_out', error: 'Sign-in failed (invalid_grant).' });
  });

  it('refreshes the access token with the refresh token shortly before it expires', async () => {
    const start = Math.floor(Date.UTC(2026, 10, 25, 8) / 1000);
    const s = setup([ok(tokens(start)), ok({ ...tokens(start + 3590, { access: { jti: 'second' } }), refresh_token: undefined })]);
    await signIn(s);
    const first = (await s.store.headers())!.authorization;
    expect((await s.store.headers())!.authorization).toBe(first);
    s.advance(3570 * 1000);
    const second = (await s.store.headers())!.authorization;
    expect(second).not.toBe(first);
    expect(Object.fromEntries(s.posts[1]!.form)).toEqual({ grant_type: 'refresh_token', client_id: 'client123', refresh_token: 'refresh-1' });
  });

  it('on a 401 tries the refresh token once, then asks the user to sign in again through the hosted UI', async () => {
    const s = setup([ok(tokens(Math.floor(Date.UTC(2026, 10, 25, 8) / 1000))), () => new Response('{"error":"invalid_grant"}', { status: 400 })]);
    await signIn(s);
    const waiting = s.store.reauthenticate();
    await new Promise((r) => setTimeout(r, 0));
    expect(s.posts[1]!.form.get('grant_type')).toBe('refresh_token');
    expect(s.store.getState()).toMatchObject({ status: 'expired', user: { id: 'sub-1' } });
    await s.store.startSignIn();
    expect(s.redirects[1]).toContain('/oauth2/authorize?');
    s.store.signOut();
    await expect(waiting).resolves.toBe(false);
  });

  it('signs out through the logout endpoint with the client id and logout URI', async () => {
    const s = setup([ok(tokens(Math.floor(Date.UTC(2026, 10, 25, 8) / 1000)))]);
    await signIn(s);
    s.store.signOut();
    const u = new URL(s.redirects.at(-1)!);
    expect(u.origin + u.pathname).toBe('https://vocab.auth.us-east-1.amazoncognito.com/logout');
    expect(Object.fromEntries(u.searchParams)).toEqual({ client_id: 'client123', logout_uri: 'https://app.example/' });
    expect(await s.store.headers()).toBeNull();
    expect(s.storage.m.has('vocab.signed_in')).toBe(false);
  });

  it('after a reload, goes back through the hosted UI only for someone who was signed in', async () => {
    const s = setup([ok(tokens(Math.floor(Date.UTC(2026, 10, 25, 8) / 1000)))]);
    expect(s.store.resume()).toBe(false);
    await signIn(s);
    const reloaded = new AuthStore(cfg, {
      fetch: async () => new Response(),
      storage: s.storage,
      redirect: (u) => void s.redirects.push(u),
      now: () => Date.now(),
      currentPath: () => '/notebooks',
    });
    expect(reloaded.resume()).toBe(true);
    await new Promise((r) => setTimeout(r, 10));
    expect(s.redirects.at(-1)).toContain('/oauth2/authorize?');
  });
});

describe('dev sign-in', () => {
  it('sends x-dev-user and waits for the "sign in as" form on 401', async () => {
    const store = new AuthStore({ mode: 'dev' }, { fetch, storage: new MemStorage(), redirect: () => {}, now: Date.now, currentPath: () => '/' });
    expect(await store.headers()).toBeNull();
    expect(store.signInAs('mina kim')).toMatch(/no spaces/);
    expect(store.signInAs('mina')).toBeNull();
    expect(await store.headers()).toEqual({ 'x-dev-user': 'mina' });
    const again = store.reauthenticate();
    expect(store.getState().status).toBe('expired');
    store.signInAs('mina');
    await expect(again).resolves.toBe(true);
  });
});
