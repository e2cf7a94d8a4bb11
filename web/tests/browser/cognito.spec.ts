// The production sign-in path: the app's authorization-code + PKCE flow against a stand-in for
// Cognito's hosted UI (support/hosted-ui.ts), tokens that moto's Cognito really issued, and
// vocab-local --auth jwt verifying them as API Gateway's JWT authorizer does.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { createPool, createUser, type Pool } from './support/cognito.ts';
import { Clock, freePort, libfaketime, startVocabLocal, type VocabLocal } from './support/env.ts';
import { expect, shoot, test, uid } from './support/fixtures.ts';
import { mainFlow } from './support/flow.ts';
import { startHostedUi, type HostedUi } from './support/hosted-ui.ts';

const PASSWORD = 'Correct-horse-battery-1';

let pool: Pool;
let ui: HostedUi;
let app: VocabLocal;
let clock: Clock;
let dir: string;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  const moto = process.env.MOTO_URL as string;
  const faketime = libfaketime();
  if (!faketime) throw new Error('libfaketime not found: apt-get install faketime (the 401 test moves vocab-local’s clock)');
  // The app's origin must be known before start: it is the app client's callback URL.
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  pool = await createPool(moto, { callback: `${origin}/auth/callback`, logout: `${origin}/` });
  ui = await startHostedUi(moto, pool);
  dir = mkdtempSync(join(tmpdir(), 'vocab-web-clock-'));
  clock = new Clock(join(dir, 'offset'));
  app = await startVocabLocal({
    table: `web-jwt-${Date.now()}`,
    port,
    args: [
      '--auth', 'jwt',
      '--jwt-issuer', pool.issuer,
      '--jwt-audience', pool.clientId,
      '--jwks-url', pool.jwksUrl,
      '--cognito-domain', ui.url,
      '--redirect-uri', `${origin}/auth/callback`,
      '--logout-uri', `${origin}/`,
    ],
    // vocab-local's wall clock (and only its), movable while it runs: the tokens' `exp` is
    // checked against it. Monotonic time stays real so timers are unaffected.
    env: { LD_PRELOAD: faketime, FAKETIME_TIMESTAMP_FILE: clock.file, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' },
  });
});

test.afterAll(async () => {
  await app?.stop();
  await ui?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function newUser(name: string): Promise<{ username: string; email: string }> {
  const username = uid(name);
  const email = `${username}@example.com`;
  await createUser(process.env.MOTO_URL as string, pool, { username, password: PASSWORD, email, name: `${name[0]?.toUpperCase()}${name.slice(1)} Kim`, picture: `${ui.url}/avatar.svg` });
  return { username, email };
}

async function signIn(page: Page, u: { username: string; email: string }, shots?: string): Promise<void> {
  await page.goto(app.url);
  const button = page.getByRole('button', { name: 'Sign in with Google' });
  await expect(button).toBeVisible();
  if (shots) await shoot(page, `${shots}-01-sign-in`);
  await button.click();
  // The stand-in's sign-in page (where Google's would be).
  await expect(page).toHaveURL(new RegExp(`^${ui.url}/oauth2/authorize\\?`));
  const authorize = new URL(page.url());
  expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
  expect(authorize.searchParams.get('identity_provider')).toBe('Google');
  await page.getByLabel('Username').fill(u.username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByTestId('user-email')).toHaveText(u.email);
  expect(new URL(page.url()).search, 'the code is gone from the address bar').toBe('');
}

test('signs in through the hosted UI with PKCE, shows picture and e-mail, runs the whole flow, signs out', async ({ page }) => {
  const mina = await newUser('mina');
  const bearer: string[] = [];
  page.on('request', (r) => {
    const a = r.headers()['authorization'];
    if (a && r.url().startsWith(`${app.url}/api/`)) bearer.push(a);
  });
  await signIn(page, mina, 'cognito');
  await expect(page.getByText(/No lists yet/)).toBeVisible();
  const avatar = page.locator('header img.avatar');
  await expect(avatar).toHaveAttribute('src', `${ui.url}/avatar.svg`);
  await expect.poll(() => avatar.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
  await shoot(page, 'cognito-02-signed-in');
  expect(ui.stats.pkceVerified).toBeGreaterThanOrEqual(1);

  await mainFlow(page, null, { listName: 'Cognito 여행' });

  // The API was called with the moto-issued access token, which the browser kept in memory only.
  expect(bearer.length).toBeGreaterThan(10);
  const token = (bearer[0] as string).replace(/^Bearer /, '');
  const claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as Record<string, string>;
  expect(claims).toMatchObject({ iss: pool.issuer, client_id: pool.clientId, token_use: 'access' });
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
  expect(stored).not.toContain(token);
  expect(stored).not.toContain(token.split('.')[2]);

  await page.getByRole('button', { name: 'Sign out' }).first().click();
  await expect(page.getByRole('button', { name: 'Sign in with Google' })).toBeVisible();
  expect(ui.stats.logouts).toBe(1);
  // Signed out at the hosted UI too: signing in asks for the password again.
  await page.getByRole('button', { name: 'Sign in with Google' }).click();
  await expect(page.getByLabel('Password')).toBeVisible();
});

test('a 401 mid-flow keeps the typed text across signing in again', async ({ page }) => {
  const jun = await newUser('jun');
  await signIn(page, jun);
  // Another user's lists are not here.
  await expect(page.getByText(/No lists yet/)).toBeVisible();
  await page.getByLabel('Name').fill('세션 테스트');
  await page.getByRole('button', { name: 'Create list' }).click();
  await expect(page.getByRole('heading', { level: 1, name: '세션 테스트' })).toBeFocused();
  const listUrl = page.url();

  await page.getByLabel('Word', { exact: true }).fill('만료되다');
  await page.getByLabel('Meaning', { exact: true }).fill('to expire');
  await page.getByLabel(/Memo/).fill('토큰이 만료되었습니다 — the token has expired');

  // Two hours later for vocab-local: the access token (and any refresh of it) has expired.
  const refreshesBefore = ui.stats.refreshes;
  clock.set('+2h');
  await page.getByRole('button', { name: 'Add word' }).click();
  const dialog = page.getByRole('dialog', { name: 'Your session has ended' });
  await expect(dialog).toBeVisible();
  expect(ui.stats.refreshes, 'a refresh was tried first').toBe(refreshesBefore + 1);
  await expect(page.getByLabel('Word', { exact: true })).toHaveValue('만료되다');
  // The viewport only: a dialog covers the screen, not the whole scrolled page.
  await shoot(page, 'cognito-03-session-ended', { fullPage: false });

  clock.set('+0');
  const silentBefore = ui.stats.silent;
  await dialog.getByRole('button', { name: 'Sign in again' }).click();
  // The hosted UI still has its session: straight back, no password, to the same page.
  await expect(page.getByRole('heading', { level: 1, name: '세션 테스트' })).toBeVisible();
  expect(ui.stats.silent).toBe(silentBefore + 1);
  expect(page.url()).toBe(listUrl);
  await expect(page.getByLabel('Word', { exact: true })).toHaveValue('만료되다');
  await expect(page.getByLabel('Meaning', { exact: true })).toHaveValue('to expire');
  await expect(page.getByLabel(/Memo/)).toHaveValue('토큰이 만료되었습니다 — the token has expired');
  await page.getByRole('button', { name: 'Add word' }).click();
  const row = page.getByTestId('word-row');
  await expect(row).toContainText('만료되다');
  await expect(row).toContainText('토큰이 만료되었습니다 — the token has expired');
  // Nothing typed was left behind in storage once it was used.
  expect(await page.evaluate(() => sessionStorage.getItem('vocab.drafts'))).toBeNull();
});
