// The browser tests' fixtures: a vocab-local per worker (its own table on the shared moto),
// screenshots at desktop width and at 375 px, and the data the flows type.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test as base, expect, type Page } from '@playwright/test';
import { WEB_DIR, startVocabLocal, type VocabLocal } from './env.ts';

export const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR ?? join(WEB_DIR, 'screenshots');

/** 20 English–Korean pairs, as a user would paste them. */
export const PAIRS: [string, string][] = [
  ['apple', '사과'],
  ['airport', '공항'],
  ['to borrow', '빌리다'],
  ['bridge', '다리'],
  ['breakfast', '아침 식사'],
  ['cheap', '싸다'],
  ['delicious', '맛있다'],
  ['exit', '출구'],
  ['far', '멀다'],
  ['friend', '친구'],
  ['hospital', '병원'],
  ['left', '왼쪽'],
  ['market', '시장'],
  ['passport', '여권'],
  ['receipt', '영수증'],
  ['right', '오른쪽'],
  ['station', '역'],
  ['subway', '지하철'],
  ['ticket', '표'],
  ['well-known', '잘 알려진'],
];

/** Lists in other languages, made through the API, so the home page shows its grouping. */
export async function seedLists(apiBase: string, headers: Record<string, string>): Promise<number> {
  const lists: [string, string, string, [string, string][]][] = [
    ['日本語の基本', 'ja', 'en', [['水', 'water'], ['山', 'mountain'], ['本', 'book']]],
    ['한국어 동사', 'ko', 'en', [['가다', 'to go'], ['먹다', 'to eat'], ['자다', 'to sleep']]],
    ['Deutsch: Reisen', 'de', 'ko', [['der Bahnhof', '기차역'], ['die Fahrkarte', '표']]],
  ];
  let words = 0;
  for (const [name, source_lang, target_lang, items] of lists) {
    const h = { ...headers, 'content-type': 'application/json' };
    const r = await fetch(`${apiBase}/lists`, { method: 'POST', headers: h, body: JSON.stringify({ name, source_lang, target_lang }) });
    if (r.status !== 201) throw new Error(`seed: POST /lists → ${r.status} ${await r.text()}`);
    const { id } = (await r.json()) as { id: string };
    const w = await fetch(`${apiBase}/lists/${id}/words`, { method: 'POST', headers: h, body: JSON.stringify({ items: items.map(([word, meaning]) => ({ word, meaning })) }) });
    if (w.status !== 201) throw new Error(`seed: POST words → ${w.status} ${await w.text()}`);
    words += items.length;
  }
  return words;
}

export const pasteText = (pairs: [string, string][]) => pairs.map(([w, m]) => `${w} - ${m}`).join('\n');

/**
 * Screenshots of the page as it is, at 1280 px and at 375 px (a phone), saved as
 * screenshots/desktop/<name>.png and screenshots/375px/<name>.png. At 375 px the page must
 * not scroll sideways.
 */
export async function shoot(page: Page, name: string, opts: { fullPage?: boolean } = {}): Promise<void> {
  await page.evaluate(() => document.fonts.ready);
  const size = page.viewportSize() ?? { width: 1280, height: 800 };
  for (const [dir, vp] of [
    ['desktop', { width: 1280, height: 800 }],
    ['375px', { width: 375, height: 812 }],
  ] as const) {
    mkdirSync(join(SCREENSHOT_DIR, dir), { recursive: true });
    await page.setViewportSize(vp);
    if (vp.width === 375) {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${name}: the page scrolls sideways at 375 px`).toBeLessThanOrEqual(0);
    }
    await page.screenshot({ path: join(SCREENSHOT_DIR, dir, `${name}.png`), fullPage: opts.fullPage ?? true, animations: 'disabled', caret: 'hide' });
  }
  await page.setViewportSize(size);
}

export async function signInDev(page: Page, app: VocabLocal, user: string): Promise<void> {
  await page.goto(app.url);
  await page.getByLabel('User id').fill(user);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Your lists' })).toBeVisible();
}

export const uid = (prefix: string) => `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

export const test = base.extend<object, { devServer: VocabLocal }>({
  devServer: [
    // eslint-disable-next-line no-empty-pattern -- Playwright reads the fixtures a function asks for from its first parameter
    async ({}, use, workerInfo) => {
      const app = await startVocabLocal({ table: `web-dev-${workerInfo.workerIndex}-${Date.now()}` });
      await use(app);
      await app.stop();
    },
    { scope: 'worker' },
  ],
});

export { expect };
