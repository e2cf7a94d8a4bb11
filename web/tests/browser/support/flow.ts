// The main flow, shared by the dev sign-in and the Cognito sign-in tests: create a list,
// paste 20 English–Korean pairs, edit one and give it a memo, mark the list a favourite, study
// with the meanings hidden and shuffled, take a typed quiz answering in Hangul (one answer
// through a real IME composition), see the score and find the missed words in the notebook.

import type { Page } from '@playwright/test';
import { PAIRS, expect, pasteText, shoot as save } from './fixtures.ts';

/** Wrong on purpose: three missed words, answered in Hangul (one left blank). */
const WRONG: Record<string, string> = { bridge: '다리미', far: '가깝다', receipt: '' };

/** `shots`: the screenshots' name prefix, or null for none (a second run of the same screens). */
export async function mainFlow(
  page: Page,
  shots: string | null,
  opts: { listName?: string; otherWords?: number; otherLists?: number } = {},
): Promise<{ listId: string }> {
  const listName = opts.listName ?? '여행 영어 Travel';
  const shoot = async (p: Page, name: string) => {
    if (shots !== null) await save(p, name);
  };
  // Create a list: focus lands on its heading.
  await page.getByLabel('Name').fill(listName);
  await page.getByLabel('Words in').selectOption('en');
  await page.getByLabel('Meanings in').selectOption('ko');
  await page.getByRole('button', { name: 'Create list' }).click();
  const h1 = page.getByRole('heading', { level: 1, name: listName });
  await expect(h1).toBeFocused();
  const listId = decodeURIComponent(new URL(page.url()).pathname.split('/')[2] ?? '');

  // Paste 20 pairs.
  await page.getByText('Paste many words').click();
  await page.getByLabel(/One per line/).fill(pasteText(PAIRS));
  await expect(page.getByText('20 words ready.')).toBeVisible();
  await page.getByRole('button', { name: 'Add 20 words' }).click();
  await expect(page.getByText('Added 20 words.')).toBeFocused();
  await expect(page.getByTestId('word-row')).toHaveCount(20);
  await expect(page.getByTestId('list-counts')).toHaveText('20 words · 0 learned');
  await shoot(page, `${shots}-02-words-pasted`);

  // Edit one and give it a memo.
  await page.getByRole('button', { name: 'Edit station' }).click();
  const form = page.getByRole('form', { name: 'Edit station' });
  await form.getByLabel('Meaning').fill('기차역');
  await form.getByLabel('Memo').fill('서울역에서 만나요 — meet me at Seoul Station');
  await shoot(page, `${shots}-03-word-edit`);
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('button', { name: 'Edit station' })).toBeFocused();
  const row = page.getByTestId('word-row').filter({ hasText: 'station' });
  await expect(row).toContainText('기차역');
  await expect(row).toContainText('서울역에서 만나요 — meet me at Seoul Station');
  const meanings = new Map(PAIRS.map(([w, m]) => [w, w === 'station' ? '기차역' : m]));

  // Mark the list a favourite; the home page shows it first.
  await page.getByRole('button', { name: 'Favourite', exact: true }).click();
  await expect(page.getByRole('button', { name: 'Favourite', exact: true })).toHaveAttribute('aria-pressed', 'true');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Lists' }).click();
  const favs = page.getByRole('region', { name: 'Favourites' });
  await expect(favs.getByRole('link', { name: listName })).toBeVisible();
  await expect(page.getByRole('heading', { level: 2 }).nth(1)).toHaveText('★ Favourites');
  await shoot(page, `${shots}-04-home-favourite`);

  // Study with the meanings hidden and shuffled.
  await favs.getByRole('link', { name: listName }).click();
  await page.getByRole('navigation', { name: 'List sections' }).getByRole('link', { name: 'Study' }).click();
  await expect(page.getByRole('heading', { name: 'Study' })).toBeFocused();
  await page.getByRole('checkbox', { name: 'Meaning' }).check();
  await expect(page.getByRole('checkbox', { name: 'Word' })).toBeDisabled();
  await page.getByRole('checkbox', { name: 'Shuffle' }).check();
  const order: string[] = [];
  for (let i = 0; i < 20; i++) {
    await expect(page.getByText(`Card ${i + 1} of 20`)).toBeVisible();
    const word = (await page.getByTestId('fc-word').textContent()) ?? '';
    order.push(word);
    await expect(page.getByTestId('fc-meaning')).not.toContainText(meanings.get(word) ?? '?');
    await expect(page.getByLabel('Meaning hidden')).toBeVisible();
    if (i === 0) {
      await shoot(page, `${shots}-05-study-hidden-shuffled`);
      await page.getByRole('button', { name: 'Show' }).click();
      await expect(page.getByTestId('fc-meaning')).toHaveText(meanings.get(word) ?? '?');
    }
    if (i < 19) await page.getByRole('button', { name: 'Next →' }).click();
  }
  expect([...order].sort()).toEqual([...meanings.keys()].sort());
  expect(order, 'shuffled').not.toEqual(PAIRS.map(([w]) => w));

  // A typed quiz, word → meaning, answered in Hangul.
  await page.getByRole('navigation', { name: 'List sections' }).getByRole('link', { name: 'Quiz' }).click();
  await page.getByRole('radio', { name: 'Typing the answer' }).check();
  await page.getByLabel('Questions (1–50)').fill('20');
  await page.getByRole('button', { name: 'Start quiz' }).click();
  const cdp = await page.context().newCDPSession(page);
  let composedOnce = false;
  for (let i = 0; i < 20; i++) {
    await expect(page.getByText(`Question ${i + 1} of 20`)).toBeVisible();
    const prompt = ((await page.locator('#quiz-prompt').textContent()) ?? '').trim();
    const input = page.getByLabel('Your answer');
    await expect(input).toBeFocused();
    const answer = prompt in WRONG ? (WRONG[prompt] as string) : (meanings.get(prompt) ?? '?');
    if (!composedOnce && !(prompt in WRONG) && answer.length >= 2) {
      // The Korean IME: while a syllable is being composed, Enter must not move on.
      composedOnce = true;
      const first = answer.slice(0, -1);
      const last = answer.slice(-1);
      await input.pressSequentially(first);
      await cdp.send('Input.imeSetComposition', { text: last.normalize('NFD').slice(0, 1), selectionStart: 1, selectionEnd: 1 });
      await cdp.send('Input.imeSetComposition', { text: last, selectionStart: 1, selectionEnd: 1 });
      await page.keyboard.press('Enter');
      await expect(page.getByText(`Question ${i + 1} of 20`)).toBeVisible();
      await cdp.send('Input.insertText', { text: last });
      await expect(input).toHaveValue(answer);
      if (i === 0) await shoot(page, `${shots}-06-quiz-typed-hangul`);
      await page.keyboard.press('Enter');
      continue;
    }
    if (answer) await input.fill(i === 1 ? `  ${answer} ` : answer);
    if (i === 0) await shoot(page, `${shots}-06-quiz-typed-hangul`);
    await input.press('Enter');
    if (i === 19) break;
  }
  expect(composedOnce).toBe(true);

  // The score and the missed words, with the Hangul answers exactly as typed.
  const score = page.getByRole('heading', { name: 'Score: 17 / 20' });
  await expect(score).toBeFocused();
  const missed = page.getByRole('table').getByRole('row');
  await expect(missed).toHaveCount(4);
  await expect(page.getByRole('row', { name: /bridge/ })).toContainText('다리미');
  await expect(page.getByRole('row', { name: /bridge/ })).toContainText('다리');
  await expect(page.getByRole('row', { name: /far/ })).toContainText('가깝다');
  await expect(page.getByRole('row', { name: /receipt/ })).toContainText('(no answer)');
  await shoot(page, `${shots}-07-quiz-score`);

  // The missed words are in the list's incorrect-answers notebook.
  await page.getByRole('link', { name: /incorrect-answers notebook/ }).click();
  const rows = page.getByTestId('notebook-row');
  await expect(rows).toHaveCount(3);
  expect((await rows.locator('.word').allTextContents()).sort()).toEqual(['bridge', 'far', 'receipt']);
  await expect(page.getByRole('link', { name: 'Notebook (3)' })).toBeVisible();
  await shoot(page, `${shots}-08-notebook`);

  // …and on the page of all notebooks.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Notebooks/ }).click();
  await expect(page.getByRole('link', { name: listName })).toBeVisible();
  await expect(page.getByText('3 words to review')).toBeVisible();
  await shoot(page, `${shots}-09-notebooks`);

  // The profile counts what happened.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Profile' }).click();
  await expect(page.locator('.stats-grid')).toContainText(`Lists${1 + (opts.otherLists ?? 0)}`);
  await expect(page.locator('.stats-grid')).toContainText(`Words${20 + (opts.otherWords ?? 0)}`);
  await expect(page.locator('.stats-grid')).toContainText('Quizzes taken1');
  await shoot(page, `${shots}-10-profile`);
  return { listId };
}
