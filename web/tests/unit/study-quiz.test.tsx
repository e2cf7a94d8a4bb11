// Study mode (hide parts, never word and meaning together, shuffle) and quizzes, including the
// Korean IME rule: an Enter that ends a composition never submits.

import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { setHidden } from '../../src/pages/StudyTab.tsx';
import { isImeEnter } from '../../src/lib/ime.ts';
import { FakeApi } from './fakeApi.ts';
import { renderApp } from './helpers.tsx';

const PAIRS: [string, string][] = [
  ['apple', '사과'],
  ['book', '책'],
  ['cat', '고양이'],
  ['dog', '개'],
  ['egg', '달걀'],
];

function withWords() {
  const fake = new FakeApi();
  const list = fake.addList('alice', { name: 'Basics', source_lang: 'en', target_lang: 'ko' });
  for (const [word, meaning] of PAIRS) fake.addWord(list.id, { word, meaning, memo: `memo of ${word}` });
  return { fake, list };
}

describe('study mode', () => {
  it('never hides the word and the meaning together', () => {
    const none = { word: false, meaning: false, memo: false };
    expect(setHidden(none, 'word', true)).toEqual({ word: true, meaning: false, memo: false });
    expect(setHidden({ ...none, word: true }, 'meaning', true)).toEqual({ word: false, meaning: true, memo: false });
    expect(setHidden({ ...none, meaning: true }, 'memo', true)).toEqual({ word: false, meaning: true, memo: true });
  });

  it('hides meanings until shown, keeps words visible, and disables hiding both', async () => {
    const { fake, list } = withWords();
    const { user } = renderApp({ fake, path: `/lists/${list.id}/study` });
    const card = await screen.findByTestId('flashcard');
    expect(within(card).getByTestId('fc-meaning')).toHaveTextContent('사과');
    await user.click(screen.getByRole('checkbox', { name: 'Meaning' }));
    expect(within(card).getByTestId('fc-meaning')).not.toHaveTextContent('사과');
    expect(within(card).getByLabelText('Meaning hidden')).toBeInTheDocument();
    expect(within(card).getByTestId('fc-word')).toHaveTextContent('apple');
    expect(screen.getByRole('checkbox', { name: 'Word' })).toBeDisabled();

    await user.click(screen.getByRole('checkbox', { name: 'Memo' }));
    expect(within(card).getByTestId('fc-memo')).not.toHaveTextContent('memo of apple');
    await user.click(within(card).getByRole('button', { name: 'Show' }));
    expect(within(card).getByTestId('fc-meaning')).toHaveTextContent('사과');
    expect(within(card).getByTestId('fc-memo')).toHaveTextContent('memo of apple');

    await user.click(screen.getByRole('button', { name: 'Next →' }));
    expect(screen.getByText('Card 2 of 5')).toBeInTheDocument();
    // A new card starts hidden again.
    expect(within(card).getByTestId('fc-meaning')).not.toHaveTextContent('책');
  });

  it('shuffles the cards', async () => {
    const { fake, list } = withWords();
    // Math.random → 0 makes Fisher–Yates rotate: [b, c, d, e, a].
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const { user } = renderApp({ fake, path: `/lists/${list.id}/study?hide=meaning` });
    await screen.findByTestId('flashcard');
    await user.click(screen.getByRole('checkbox', { name: 'Shuffle' }));
    const seen: string[] = [];
    for (let i = 0; i < PAIRS.length; i++) {
      seen.push(screen.getByTestId('fc-word').textContent ?? '');
      if (i < PAIRS.length - 1) await user.click(screen.getByRole('button', { name: 'Next →' }));
    }
    expect(seen).toEqual(['book', 'cat', 'dog', 'egg', 'apple']);
    expect(screen.getByRole('checkbox', { name: 'Meaning' })).toBeChecked();
  });

  it('studies only what is not learned yet, and says when everything is', async () => {
    const { fake, list } = withWords();
    for (const w of fake.words) w.learned = w.word !== 'dog';
    const { user } = renderApp({ fake, path: `/lists/${list.id}/study` });
    await screen.findByTestId('flashcard');
    await user.selectOptions(screen.getByLabelText('Cards'), 'unlearned');
    await waitFor(() => expect(screen.getByText('Card 1 of 1')).toBeInTheDocument());
    expect(screen.getByTestId('fc-word')).toHaveTextContent('dog');
    await user.click(within(screen.getByTestId('flashcard')).getByRole('checkbox', { name: 'Learned' }));
    await waitFor(() => expect(fake.words.find((w) => w.word === 'dog')!.learned).toBe(true));
  });
});

describe('the IME rule', () => {
  it('recognises an Enter that belongs to a composition (isComposing, or keyCode 229 in Safari)', () => {
    const ev = (o: object) => ({ key: 'Enter', preventDefault() {}, ...o });
    expect(isImeEnter(ev({ nativeEvent: { isComposing: true } }))).toBe(true);
    expect(isImeEnter(ev({ nativeEvent: { isComposing: false, keyCode: 229 } }))).toBe(true);
    expect(isImeEnter(ev({ nativeEvent: { isComposing: false, keyCode: 13 } }))).toBe(false);
    // Other keys during a composition are the typing itself and must go through.
    expect(isImeEnter({ key: 'Process', nativeEvent: { isComposing: true, keyCode: 229 }, preventDefault() {} })).toBe(false);
  });

  it('never submits a typed quiz answer while a Hangul syllable is being composed', async () => {
    const { fake, list } = withWords();
    const { user } = renderApp({ fake, path: `/lists/${list.id}/quiz` });
    await user.click(await screen.findByRole('radio', { name: 'Typing the answer' }));
    await user.click(screen.getByRole('button', { name: 'Start quiz' }));
    const input = await screen.findByLabelText('Your answer');
    await waitFor(() => expect(input).toHaveFocus());
    expect(screen.getByText('Question 1 of 5')).toBeInTheDocument();

    fireEvent.compositionStart(input);
    fireEvent.change(input, { target: { value: '사ㄱ' } });
    // The Enter that picks the syllable: default prevented, so the form's implicit submission doesn't happen.
    expect(fireEvent.keyDown(input, { key: 'Enter', keyCode: 229, isComposing: true })).toBe(false);
    fireEvent.change(input, { target: { value: '사과' } });
    fireEvent.compositionEnd(input, { data: '과' });
    // Safari: the same Enter arrives after compositionend with keyCode 229.
    expect(fireEvent.keyDown(input, { key: 'Enter', keyCode: 229, isComposing: false })).toBe(false);
    expect(screen.getByText('Question 1 of 5')).toBeInTheDocument();
    expect(input).toHaveValue('사과');

    // A plain Enter afterwards moves on.
    await user.type(input, '{Enter}');
    expect(await screen.findByText('Question 2 of 5')).toBeInTheDocument();
  });
});

describe('quizzes', () => {
  it('sends typed Hangul exactly as typed, and shows the score and the missed words', async () => {
    const { fake, list } = withWords();
    const { user } = renderApp({ fake, path: `/lists/${list.id}/quiz` });
    await user.click(await screen.findByRole('radio', { name: 'Typing the answer' }));
    await user.click(screen.getByRole('button', { name: 'Start quiz' }));
    const answers = ['  사과 ', '책', '강아지', '개', ''];
    for (const [i, a] of answers.entries()) {
      const input = await screen.findByLabelText('Your answer');
      await waitFor(() => expect(screen.getByText(`Question ${i + 1} of 5`)).toBeInTheDocument());
      if (a) await user.type(input, a);
      await user.click(screen.getByRole('button', { name: i === 4 ? 'Finish and check' : 'Next →' }));
    }
    const score = await screen.findByRole('heading', { name: 'Score: 3 / 5' });
    await waitFor(() => expect(score).toHaveFocus());
    const submitted = fake.calls.find((c) => c.path.endsWith('/answers'))!.body as { answers: { answer: string }[] };
    // The check is the API's: the app sends what was typed, untrimmed.
    expect(submitted.answers.map((a) => a.answer)).toEqual(answers);
    const rows = within(screen.getByRole('table')).getAllByRole('row').slice(1);
    expect(rows.map((r) => r.textContent)).toEqual(['cat강아지고양이', 'egg(no answer)달걀']);
    await user.click(screen.getByRole('link', { name: /incorrect-answers notebook/ }));
    const nb = await screen.findAllByTestId('notebook-row');
    expect(nb.map((r) => r.querySelector('.word')?.textContent)).toEqual(['cat', 'egg']);
  });

  it('takes a multiple-choice quiz meaning → word', async () => {
    const { fake, list } = withWords();
    const { user } = renderApp({ fake, path: `/lists/${list.id}/quiz` });
    await user.click(await screen.findByRole('radio', { name: 'Meaning → word' }));
    await user.clear(screen.getByLabelText('Questions (1–50)'));
    await user.type(screen.getByLabelText('Questions (1–50)'), '2');
    await user.click(screen.getByRole('button', { name: 'Start quiz' }));
    expect(await screen.findByText('사과')).toBeInTheDocument();
    await user.click(screen.getByRole('radio', { name: 'apple' }));
    await user.click(screen.getByRole('button', { name: 'Next →' }));
    await user.click(await screen.findByRole('radio', { name: 'cat' }));
    await user.click(screen.getByRole('button', { name: 'Finish and check' }));
    expect(await screen.findByRole('heading', { name: 'Score: 1 / 2' })).toBeInTheDocument();
    expect(fake.calls.find((c) => c.path.endsWith('/quizzes'))!.body).toEqual({ count: 2, mode: 'choice', direction: 'meaning_to_word' });
  });

  it('explains an empty list, and a quiz already submitted', async () => {
    const fake = new FakeApi();
    const list = fake.addList('alice', { name: 'Empty' });
    const { user } = renderApp({ fake, path: `/lists/${list.id}/quiz` });
    await user.click(await screen.findByRole('button', { name: 'Start quiz' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('This list has no words yet');

    fake.addWord(list.id, { word: 'a', meaning: '가' });
    await user.click(screen.getByRole('button', { name: 'Start quiz' }));
    await user.click(await screen.findByRole('radio', { name: '가' }));
    fake.failNext('POST', /\/answers$/, 409, 'already_submitted', 'answers were already submitted');
    await user.click(screen.getByRole('button', { name: 'Finish and check' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('This quiz was already checked. Start a new one.');
    expect(screen.getByRole('button', { name: 'Start quiz' })).toBeInTheDocument();
  });
});
