// A stand-in for the Cognito hosted UI's authorize, token and logout endpoints, for the
// browser tests only. moto implements the user-pool API but not the hosted UI, and Google can't
// be reached from here. This server speaks the hosted UI's documented protocol to the app and
// hands out tokens that moto really issued (USER_PASSWORD_AUTH / REFRESH_TOKEN_AUTH), so the
// app's PKCE code flow and vocab-local's JWT verification both meet real Cognito-shaped tokens.
//
// What it stands in for: Cognito's /oauth2/authorize → (Google's sign-in page) → callback with a
// code; /oauth2/token; /logout. The username/password page replaces Google's sign-in page.
//
// Followed, behaviour by behaviour:
//   authorize: https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html
//   token:     https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html
//   logout:    https://docs.aws.amazon.com/cognito/latest/developerguide/logout-endpoint.html
//   PKCE:      https://docs.aws.amazon.com/cognito/latest/developerguide/using-pkce-in-authorization-code.html
//              and RFC 7636 §4.6 (S256 verification)
//   errors:    RFC 6749 §4.1.2.1 (authorize, redirected) and §5.2 (token, JSON 400)

import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { CognitoError, describeClient, passwordAuth, refreshAuth, type MotoTokens, type Pool } from './cognito.ts';

interface CodeGrant {
  clientId: string;
  redirectUri: string;
  challenge: string | null;
  tokens: MotoTokens;
  expires: number;
  used: boolean;
}

export interface HostedUi {
  url: string;
  /** What the app did, for the tests to check. */
  stats: { authorize: number; login: number; silent: number; codeExchanges: number; pkceVerified: number; refreshes: number; logouts: number; refused: string[] };
  stop(): Promise<void>;
}

const b64url = (b: Buffer) => b.toString('base64url');
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((ok, fail) => {
    let s = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (s += d));
    req.on('end', () => ok(s));
    req.on('error', fail);
  });
}

function cookies(req: IncomingMessage): Record<string, string> {
  return Object.fromEntries((req.headers.cookie ?? '').split(';').map((c) => c.trim().split('=') as [string, string]).filter((kv) => kv.length === 2));
}

export async function startHostedUi(moto: string, pool: Pool, port = 0): Promise<HostedUi> {
  const codes = new Map<string, CodeGrant>();
  // The hosted UI's own session (its cookie): signing in again while it lasts needs no password.
  const sessions = new Map<string, { refreshToken: string }>();
  const stats: HostedUi['stats'] = { authorize: 0, login: 0, silent: 0, codeExchanges: 0, pkceVerified: 0, refreshes: 0, logouts: 0, refused: [] };

  const page = (res: ServerResponse, status: number, title: string, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;background:#f2f3f5;display:grid;place-items:center;min-height:100vh;margin:0}
form,.box{background:#fff;padding:2rem;border-radius:12px;box-shadow:0 2px 12px #0002;display:grid;gap:.6rem;width:min(22rem,90vw)}
input{padding:.5rem;font:inherit}button{padding:.6rem;font:inherit;background:#1a73e8;color:#fff;border:0;border-radius:6px}
.note{color:#666;font-size:.85rem}.err{color:#b00}</style></head><body>${body}</body></html>`);
  };
  const json = (res: ServerResponse, status: number, body: object, origin?: string) => {
    res.writeHead(status, {
      'content-type': 'application/json;charset=UTF-8',
      'cache-control': 'no-store',
      pragma: 'no-cache',
      // The token endpoint is called by the SPA from its own origin (CORS).
      'access-control-allow-origin': origin ?? '*',
      vary: 'Origin',
    });
    res.end(JSON.stringify(body));
  };
  const redirect = (res: ServerResponse, to: string, headers: Record<string, string> = {}) => {
    res.writeHead(302, { location: to, 'cache-control': 'no-store', ...headers });
    res.end();
  };

  const issueCode = (p: URLSearchParams, tokens: MotoTokens): string => {
    const code = b64url(randomBytes(24));
    codes.set(code, {
      clientId: p.get('client_id') ?? '',
      redirectUri: p.get('redirect_uri') ?? '',
      challenge: p.get('code_challenge'),
      tokens,
      // Authorization codes are single-use and short-lived (the token endpoint page: 5 minutes).
      expires: Date.now() + 5 * 60_000,
      used: false,
    });
    const back = new URL(p.get('redirect_uri') ?? '');
    back.searchParams.set('code', code);
    if (p.get('state') !== null) back.searchParams.set('state', p.get('state') ?? '');
    return back.toString();
  };

  /** Checks an authorize request; on a bad client or callback URL, an error page (no redirect). */
  const checkAuthorize = async (p: URLSearchParams, res: ServerResponse): Promise<boolean> => {
    const client = await describeClient(moto, pool).catch(() => null);
    if (p.get('client_id') !== pool.clientId || !client) {
      stats.refused.push('authorize: unknown client_id');
      page(res, 400, 'Error', '<div class="box"><p class="err">An error was encountered with the requested page: invalid client_id.</p></div>');
      return false;
    }
    // redirect_uri must be one of the app client's callback URLs, exactly; otherwise Cognito
    // shows redirect_mismatch and does not redirect anywhere.
    if (!client.CallbackURLs?.includes(p.get('redirect_uri') ?? '')) {
      stats.refused.push('authorize: redirect_mismatch');
      page(res, 400, 'Error', '<div class="box"><p class="err">redirect_mismatch</p></div>');
      return false;
    }
    const back = (error: string, description: string) => {
      const u = new URL(p.get('redirect_uri') ?? '');
      u.searchParams.set('error', error);
      u.searchParams.set('error_description', description);
      if (p.get('state') !== null) u.searchParams.set('state', p.get('state') ?? '');
      stats.refused.push(`authorize: ${error}`);
      redirect(res, u.toString());
      return false;
    };
    if (p.get('response_type') !== 'code') return back('unsupported_response_type', 'response_type must be code');
    if (!client.AllowedOAuthFlows?.includes('code')) return back('unauthorized_client', 'code grant not allowed');
    const scopes = (p.get('scope') ?? '').split(/[ +]/).filter(Boolean);
    if (scopes.some((s) => !client.AllowedOAuthScopes?.includes(s))) return back('invalid_scope', 'a scope is not allowed for this client');
    // Cognito supports only the S256 PKCE method.
    if (p.get('code_challenge') !== null && p.get('code_challenge_method') !== 'S256') return back('invalid_request', 'code_challenge_method must be S256');
    return true;
  };

  const loginForm = (res: ServerResponse, p: URLSearchParams, error = '') =>
    page(
      res,
      error ? 401 : 200,
      'Sign in (test stand-in)',
      `<form method="post" action="/login">
  <h1 style="margin:0;font-size:1.3rem">Sign in</h1>
  <p class="note">Test stand-in for Cognito's hosted UI and Google sign-in (${esc(p.get('identity_provider') ?? 'COGNITO')}).</p>
  ${error ? `<p class="err" role="alert">${esc(error)}</p>` : ''}
  <label>Username <input name="username" autocomplete="username"></label>
  <label>Password <input name="password" type="password" autocomplete="current-password"></label>
  <input type="hidden" name="authorize" value="${esc(p.toString())}">
  <button type="submit">Continue</button>
</form>`,
    );

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const origin = req.headers.origin;
      try {
        if (req.method === 'GET' && url.pathname === '/oauth2/authorize') {
          stats.authorize += 1;
          const p = url.searchParams;
          if (!(await checkAuthorize(p, res))) return;
          const sid = cookies(req)['cognito'];
          const session = sid ? sessions.get(sid) : undefined;
          if (session) {
            // Signed in at the hosted UI already: straight back with a code, no page.
            const tokens = await refreshAuth(moto, pool.clientId, session.refreshToken);
            stats.silent += 1;
            return redirect(res, issueCode(p, { ...tokens, RefreshToken: session.refreshToken }));
          }
          return loginForm(res, p);
        }
        if (req.method === 'POST' && url.pathname === '/login') {
          const form = new URLSearchParams(await readBody(req));
          const p = new URLSearchParams(form.get('authorize') ?? '');
          if (!(await checkAuthorize(p, res))) return;
          let tokens: MotoTokens;
          try {
            tokens = await passwordAuth(moto, pool.clientId, form.get('username') ?? '', form.get('password') ?? '');
          } catch (e) {
            return loginForm(res, p, e instanceof CognitoError && e.type === 'NotAuthorizedException' ? 'Incorrect username or password.' : String(e));
          }
          stats.login += 1;
          const sid = b64url(randomBytes(18));
          sessions.set(sid, { refreshToken: tokens.RefreshToken ?? '' });
          return redirect(res, issueCode(p, tokens), { 'set-cookie': `cognito=${sid}; Path=/; HttpOnly; SameSite=Lax` });
        }
        if (req.method === 'OPTIONS' && url.pathname === '/oauth2/token') {
          res.writeHead(204, {
            'access-control-allow-origin': origin ?? '*',
            'access-control-allow-methods': 'POST',
            'access-control-allow-headers': 'content-type, authorization',
          });
          return res.end();
        }
        if (url.pathname === '/oauth2/token') {
          const fail = (error: string, why: string) => {
            stats.refused.push(`token: ${error} (${why})`);
            json(res, 400, { error }, origin);
          };
          if (req.method !== 'POST') return fail('invalid_request', 'only POST');
          if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return fail('invalid_request', 'content-type');
          const f = new URLSearchParams(await readBody(req));
          const grant = f.get('grant_type');
          if (f.get('client_id') !== pool.clientId) return fail('invalid_client', 'unknown client_id');
          if (grant === 'authorization_code') {
            const code = f.get('code') ?? '';
            const g = codes.get(code);
            // A code is redeemed once, before it expires, by the client and callback it was issued for.
            if (!g || g.used || g.expires < Date.now()) return fail('invalid_grant', 'code unknown, used or expired');
            if (g.clientId !== f.get('client_id')) return fail('invalid_grant', 'client_id differs');
            if (g.redirectUri !== f.get('redirect_uri')) return fail('invalid_grant', 'redirect_uri differs');
            g.used = true;
            if (g.challenge !== null) {
              // RFC 7636 §4.6: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge.
              const v = f.get('code_verifier') ?? '';
              if (!/^[A-Za-z0-9\-._~]{43,128}$/.test(v)) return fail('invalid_grant', 'code_verifier malformed');
              if (b64url(createHash('sha256').update(v, 'ascii').digest()) !== g.challenge) return fail('invalid_grant', 'code_verifier mismatch');
              stats.pkceVerified += 1;
            }
            stats.codeExchanges += 1;
            return json(
              res,
              200,
              { id_token: g.tokens.IdToken, access_token: g.tokens.AccessToken, refresh_token: g.tokens.RefreshToken, expires_in: g.tokens.ExpiresIn, token_type: 'Bearer' },
              origin,
            );
          }
          if (grant === 'refresh_token') {
            try {
              const t = await refreshAuth(moto, pool.clientId, f.get('refresh_token') ?? '');
              stats.refreshes += 1;
              // A refresh answers new ID and access tokens, no new refresh token.
              return json(res, 200, { id_token: t.IdToken, access_token: t.AccessToken, expires_in: t.ExpiresIn, token_type: 'Bearer' }, origin);
            } catch {
              return fail('invalid_grant', 'refresh token refused');
            }
          }
          return fail('unsupported_grant_type', String(grant));
        }
        if (req.method === 'GET' && url.pathname === '/logout') {
          const client = await describeClient(moto, pool).catch(() => null);
          const logoutUri = url.searchParams.get('logout_uri') ?? '';
          if (url.searchParams.get('client_id') !== pool.clientId || !client?.LogoutURLs?.includes(logoutUri)) {
            stats.refused.push('logout: logout_uri not registered');
            return page(res, 400, 'Error', '<div class="box"><p class="err">An error was encountered: logout_uri is not a sign-out URL of this app.</p></div>');
          }
          const sid = cookies(req)['cognito'];
          if (sid) sessions.delete(sid);
          stats.logouts += 1;
          return redirect(res, logoutUri, { 'set-cookie': 'cognito=; Path=/; Max-Age=0' });
        }
        if (req.method === 'GET' && url.pathname === '/avatar.svg') {
          res.writeHead(200, { 'content-type': 'image/svg+xml', 'cache-control': 'max-age=3600' });
          return res.end(
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" fill="#f4a261"/><circle cx="32" cy="25" r="12" fill="#fff"/><rect x="14" y="42" width="36" height="22" rx="11" fill="#fff"/></svg>',
          );
        }
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
      } catch (e) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(e));
      }
    })();
  });
  await new Promise<void>((ok) => server.listen(port, '127.0.0.1', ok));
  const addr = server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : port}`;
  return {
    url,
    stats,
    stop: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
