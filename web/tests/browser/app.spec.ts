// The built app in Debian's Chromium against the real vocab-local (dev sign-in) on moto.

import { gzipSync } from 'node:zlib';
import type { Page } from '@playwright/test';
import { expect, seedLists, shoot, signInDev, test, uid } from './support/fixtures.ts';
import { mainFlow } from './support/flow.ts';

/** A field of a vocab-local log line: ECS names are written dotted at the top level. */
function field(line: Record<string, unknown>, name: string): unknown {
  if (name in line) return line[name];
  return name.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), line);
}

test('sign in, paste 20 pairs, edit, favourite, study hidden+shuffled, typed Hangul quiz, notebook', async ({ page, devServer }) => {
  const user = uid('mina');
  // Lists in other languages first, so the home page shows its grouping by language.
  const otherWords = await seedLists(`${devServer.url}/api`, { 'x-dev-user': user });
  await page.goto(devServer.url);
  await expect(page.getByRole('heading', { name: 'Sign in as' })).toBeVisible();
  await shoot(page, 'dev-01-sign-in');
  await page.getByLabel('User id').fill(user);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('region', { name: 'Japanese' }).getByRole('link', { name: '日本語の基本' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Korean' }).getByRole('link', { name: '한국어 동사' })).toBeVisible();
  await mainFlow(page, 'dev', { otherWords, otherLists: 3 });
});

test('a second user sees none of the first user’s lists', async ({ page, devServer }) => {
  const first = uid('first');
  const api = (path: string, body?: object) =>
    fetch(`${devServer.url}/api${path}`, {
      method: body ? 'POST' : 'GET',
      headers: { 'x-dev-user': first, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    }).then((r) => r.json() as Promise<{ id: string }>);
  const list = await api('/lists', { name: 'Private list', source_lang: 'en', target_lang: 'ko' });
  await fetch(`${devServer.url}/api/lists/${list.id}/words`, {
    method: 'POST',
    headers: { 'x-dev-user': first, 'content-type': 'application/json' },
    body: JSON.stringify({ word: 'secret', meaning: '비밀' }),
  });

  await signInDev(page, devServer, uid('second'));
  await expect(page.getByText(/No lists yet/)).toBeVisible();
  await expect(page.getByText('Private list')).toHaveCount(0);
  // Not even by its address: another user's list is "not found".
  await page.goto(`${devServer.url}/lists/${list.id}`);
  await page.getByLabel('User id').fill(uid('second'));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'List not found' })).toBeVisible();
  await expect(page.getByText('secret')).toHaveCount(0);
  await shoot(page, 'dev-11-other-users-list');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Notebooks/ }).click();
  await expect(page.getByText(/Every notebook is empty/)).toBeVisible();
});

test('several lists, then several words, deleted at once', async ({ page, devServer }) => {
  const user = uid('multi');
  await seedLists(`${devServer.url}/api`, { 'x-dev-user': user });
  await signInDev(page, devServer, user);
  await page.getByRole('button', { name: 'Select lists' }).click();
  await page.getByRole('checkbox', { name: 'Select 日本語の基本' }).check();
  await page.getByRole('checkbox', { name: 'Select Deutsch: Reisen' }).check();
  await page.getByRole('button', { name: 'Delete selected (2)' }).click();
  await page.getByRole('dialog', { name: 'Delete 2 lists?' }).getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByText('Deleted 2 lists.')).toBeFocused();
  await expect(page.locator('.list-card')).toHaveCount(1);

  await page.getByRole('link', { name: '한국어 동사' }).click();
  await page.getByRole('button', { name: 'Select words' }).click();
  await page.getByRole('checkbox', { name: 'Select 가다' }).check();
  await page.getByRole('checkbox', { name: 'Select 자다' }).check();
  await shoot(page, 'dev-12-select-words');
  await page.getByRole('button', { name: 'Delete selected (2)' }).click();
  await page.getByRole('dialog', { name: 'Delete 2 words?' }).getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByText('Deleted 2 words.')).toBeFocused();
  await expect(page.getByTestId('word-row')).toHaveCount(1);
  await expect(page.getByTestId('list-counts')).toHaveText('1 word · 0 learned');
  const lists = (await (await fetch(`${devServer.url}/api/lists`, { headers: { 'x-dev-user': user } })).json()) as { items: { name: string }[] };
  expect(lists.items.map((l) => l.name)).toEqual(['한국어 동사']);
});

test('a thrown client error arrives as one log line of vocab-local', async ({ page, devServer }) => {
  const user = uid('err');
  await signInDev(page, devServer, user);
  const token = uid('boom');
  await page.evaluate((t) => {
    setTimeout(() => {
      throw new TypeError(`test error ${t}`);
    }, 0);
  }, token);
  const mine = () =>
    devServer
      .logs()
      .filter((l) => field(l, 'log.logger') === 'vocab_api::client_events' && String(field(l, 'error.message') ?? '').includes(token));
  await expect.poll(() => mine().length, { timeout: 20_000 }).toBe(1);
  // Give a duplicate time to show up, then check there is still exactly one.
  await page.waitForTimeout(2500);
  const lines = mine();
  expect(lines).toHaveLength(1);
  const line = lines[0]!;
  expect(field(line, 'service.name')).toBe('vocab-web');
  expect(field(line, 'event.action')).toBe('client.error');
  expect(field(line, 'event.kind')).toBe('event');
  expect(field(line, 'log.level')).toBe('error');
  expect(field(line, 'url.path')).toBe('/');
  expect(field(line, 'user.id')).toBe(user);
  expect(field(line, 'error.type')).toBe('TypeError');
  expect(String(field(line, 'user_agent.original'))).toContain('Chrome');
  expect(field(line, 'http.response.status_code')).toBeUndefined();
});

async function tabTo(page: Page, name: string | RegExp, role: Parameters<Page['getByRole']>[0] = 'button', max = 60): Promise<void> {
  const target = page.getByRole(role, { name }).first();
  for (let i = 0; i < max; i++) {
    if (await target.evaluate((el) => el === document.activeElement).catch(() => false)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${role} ${String(name)}`);
}

test('a keyboard-only path: sign in, create a list, add a word, favourite it, take a quiz', async ({ page, devServer }) => {
  await page.goto(devServer.url);
  await tabTo(page, 'User id', 'textbox');
  await page.keyboard.type(uid('kbd'));
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1, name: 'Your lists' })).toBeVisible();

  await tabTo(page, 'Name', 'textbox');
  await page.keyboard.type('Keyboard list');
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1, name: 'Keyboard list' })).toBeFocused();

  await tabTo(page, 'Word', 'textbox');
  await page.keyboard.type('night');
  await page.keyboard.press('Tab');
  await page.keyboard.type('밤');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('word-row')).toContainText('밤');
  await expect(page.getByLabel('Word', { exact: true })).toBeFocused();

  await tabTo(page, 'Favourite');
  await page.keyboard.press('Space');
  await expect(page.getByRole('button', { name: 'Favourite', exact: true })).toHaveAttribute('aria-pressed', 'true');

  await tabTo(page, 'Quiz', 'link');
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: 'Quiz' })).toBeFocused();
  await tabTo(page, 'Start quiz');
  await page.keyboard.press('Enter');
  await expect(page.getByText('Question 1 of 1')).toBeVisible();
  await tabTo(page, '밤', 'radio');
  await page.keyboard.press('Space');
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: 'Score: 1 / 1' })).toBeFocused();
});

test('the first page loads at most 150 KB of gzipped JavaScript', async ({ page, devServer }) => {
  const scripts: { url: string; gzip: number }[] = [];
  page.on('response', async (r) => {
    if (r.request().resourceType() === 'script') scripts.push({ url: r.url(), gzip: gzipSync(await r.body(), { level: 9 }).length });
  });
  await page.goto(devServer.url, { waitUntil: 'networkidle' });
  await expect(page.getByRole('heading', { name: 'Sign in as' })).toBeVisible();
  const total = scripts.reduce((a, s) => a + s.gzip, 0);
  console.log(`first page JavaScript: ${(total / 1024).toFixed(1)} KB gzipped in ${scripts.length} file(s)`);
  expect(scripts.length).toBeGreaterThan(0);
  expect(total).toBeLessThanOrEqual(150 * 1024);
});

test('hashed assets are cached for a year and pages are not, on one origin with the API', async ({ devServer }) => {
  const index = await fetch(`${devServer.url}/lists/anything`, { headers: { accept: 'text/html' } });
  expect(index.status).toBe(200);
  expect(index.headers.get('cache-control')).toBe('no-cache');
  const html = await index.text();
  const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  expect(asset).toBeTruthy();
  const js = await fetch(`${devServer.url}${asset}`);
  expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  // An API 404 stays a JSON 404, never the app's page.
  const missing = await fetch(`${devServer.url}/api/nope`, { headers: { accept: 'text/html', 'x-dev-user': 'x' } });
  expect(missing.status).toBe(404);
  expect(missing.headers.get('content-type')).toContain('application/json');
  const config = await fetch(`${devServer.url}/config.json`);
  expect(await config.json()).toEqual({ api_base: '/api', auth: { mode: 'dev' } });
});
