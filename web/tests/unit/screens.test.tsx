// Each screen under each API outcome: loading, empty, 400, 401, 404, 413, 429, 5xx/offline,
// and optimistic updates rolled back on failure.

import { act, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { FakeApi } from './fakeApi.ts';
import { renderApp } from './helpers.tsx';

function withList(words: [string, string][] = []) {
  const fake = new FakeApi();
  const list = fake.addList('alice', { name: '여행 영어', source_lang: 'en', target_lang: 'ko' });
  for (const [word, meaning] of words) fake.addWord(list.id, { word, meaning });
  return { fake, list };
}

describe('the home page', () => {
  it('shows loading, then the empty state', async () => {
    const fake = new FakeApi();
    const release = fake.hold('GET', /^\/lists$/);
    renderApp({ fake });
    expect(screen.getByText('Loading your lists…')).toHaveAttribute('role', 'status');
    release();
    expect(await screen.findByText(/No lists yet/)).toBeInTheDocument();
  });

  it('shows favourites first and groups the rest by language with a flag', async () => {
    const fake = new FakeApi();
    fake.addList('alice', { name: 'Verbs', source_lang: 'en' });
    fake.addList('alice', { name: '음식', source_lang: 'ko', target_lang: 'en', favorite: true });
    fake.addList('alice', { name: 'Kanji', source_lang: 'ja' });
    fake.addList('bob', { name: 'Not mine' });
    renderApp({ fake });
    await screen.findByRole('link', { name: 'Verbs' });
    const groups = screen.getAllByRole('heading', { level: 2 });
    expect(groups.map((h) => h.textContent)).toEqual(['New list', '★ Favourites', '🇺🇸English', '🇯🇵Japanese']);
    const fav = screen.getByRole('region', { name: 'Favourites' });
    expect(within(fav).getByRole('link', { name: '음식' })).toBeInTheDocument();
    expect(screen.queryByText('Not mine')).not.toBeInTheDocument();
  });

  it('offers Retry after a 5xx and loads on retry', async () => {
    const fake = new FakeApi();
    fake.addList('alice', { name: 'Verbs' });
    fake.failNext('GET', /^\/lists$/, 503, 'internal', 'internal error');
    const { user } = renderApp({ fake });
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent("Couldn't load your lists.");
    expect(alert).toHaveTextContent('The server had a problem (HTTP 503)');
    await user.click(within(alert).getByRole('button', { name: 'Retry' }));
    expect(await screen.findByRole('link', { name: 'Verbs' })).toBeInTheDocument();
  });

  it('says when the server cannot be reached, and loads again when the browser is back online', async () => {
    const fake = new FakeApi();
    fake.addList('alice', { name: 'Verbs' });
    fake.offlineNext('GET', /^\/lists$/);
    renderApp({ fake });
    expect(await screen.findByRole('alert')).toHaveTextContent("Can't reach the server");
    // Let React run the effect that listens for the browser going online.
    await act(() => new Promise((r) => setTimeout(r, 0)));
    act(() => void window.dispatchEvent(new Event('online')));
    expect(await screen.findByRole('link', { name: 'Verbs' })).toBeInTheDocument();
  });

  it("shows a 400's message at the field it names and moves focus there", async () => {
    const fake = new FakeApi();
    const { user } = renderApp({ fake });
    await screen.findByText(/No lists yet/);
    const name = screen.getByLabelText('Name');
    await user.type(name, '가'.repeat(101));
    await user.click(screen.getByRole('button', { name: 'Create list' }));
    await waitFor(() => expect(name).toHaveAccessibleDescription('must be at most 100 characters'));
    expect(name).toHaveAttribute('aria-invalid', 'true');
    expect(name).toHaveFocus();
    // What was typed stays.
    expect(name).toHaveValue('가'.repeat(101));
  });

  it('creates a list and moves focus to its page heading', async () => {
    const fake = new FakeApi();
    const { user } = renderApp({ fake });
    await screen.findByText(/No lists yet/);
    await user.type(screen.getByLabelText('Name'), '여행 영어');
    await user.selectOptions(screen.getByLabelText('Words in'), 'en');
    await user.selectOptions(screen.getByLabelText('Meanings in'), 'ko');
    await user.click(screen.getByRole('button', { name: 'Create list' }));
    const h1 = await screen.findByRole('heading', { level: 1, name: '여행 영어' });
    await waitFor(() => expect(h1).toHaveFocus());
    expect(location.pathname).toBe(`/lists/${fake.lists[0]!.id}`);
  });

  it('rolls a favourite back when the server refuses it', async () => {
    const fake = new FakeApi();
    fake.addList('alice', { name: 'Verbs' });
    fake.failNext('PATCH', /^\/lists\/[^/]+$/, 500, 'internal', 'internal error');
    const { user } = renderApp({ fake });
    const star = await screen.findByRole('button', { name: 'Favourite: Verbs' });
    await user.click(star);
    expect(await screen.findByRole('alert')).toHaveTextContent("Couldn't add the favourite “Verbs”");
    expect(screen.getByRole('button', { name: 'Favourite: Verbs' })).toHaveAttribute('aria-pressed', 'false');
    expect(fake.lists[0]!.favorite).toBe(false);
  });

  it('deletes several lists at once, and puts them back if the delete fails', async () => {
    const fake = new FakeApi();
    for (const n of ['A', 'B', 'C']) fake.addList('alice', { name: n });
    const { user } = renderApp({ fake });
    await user.click(await screen.findByRole('button', { name: 'Select lists' }));
    await user.click(screen.getByRole('checkbox', { name: 'Select A' }));
    await user.click(screen.getByRole('checkbox', { name: 'Select C' }));
    fake.failNext('POST', /^\/lists\/batch-delete$/, 500, 'internal', 'internal error');
    await user.click(screen.getByRole('button', { name: 'Delete selected (2)' }));
    await user.click(within(screen.getByRole('dialog', { name: 'Delete 2 lists?' })).getByRole('button', { name: 'Delete' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Nothing was deleted');
    expect(screen.getByRole('link', { name: 'A' })).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Delete selected (2)' }));
    await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Delete' }));
    const done = await screen.findByText('Deleted 2 lists.');
    await waitFor(() => expect(done).toHaveFocus());
    expect(screen.queryByRole('link', { name: 'A' })).not.toBeInTheDocument();
    expect(fake.lists.map((l) => l.name)).toEqual(['B']);
  });
});

describe('a list', () => {
  it('says so when the list does not exist (404)', async () => {
    renderApp({ path: '/lists/nope' });
    expect(await screen.findByRole('heading', { level: 1, name: 'List not found' })).toBeInTheDocument();
    expect(screen.getByRole('alert')).toHaveTextContent("This list doesn't exist, or it was deleted.");
    expect(screen.getByRole('link', { name: 'Back to your lists' })).toBeInTheDocument();
  });

  it("shows another user's list as not found too", async () => {
    const fake = new FakeApi();
    const theirs = fake.addList('bob', { name: 'Secret' });
    renderApp({ fake, path: `/lists/${theirs.id}` });
    expect(await screen.findByRole('heading', { level: 1, name: 'List not found' })).toBeInTheDocument();
    expect(screen.queryByText('Secret')).not.toBeInTheDocument();
  });

  it('shows the empty word list, then adds a word with a memo and keeps focus on the word field', async () => {
    const { fake, list } = withList();
    const { user } = renderApp({ fake, path: `/lists/${list.id}` });
    expect(await screen.findByText(/No words yet/)).toBeInTheDocument();
    await user.type(screen.getByLabelText('Word'), 'to borrow');
    await user.type(screen.getByLabelText('Meaning'), '빌리다');
    await user.type(screen.getByLabelText(/Memo/), '책을 빌리다');
    await user.click(screen.getByRole('button', { name: 'Add word' }));
    const row = await screen.findByTestId('word-row');
    expect(row).toHaveTextContent('to borrow');
    expect(row).toHaveTextContent('빌리다');
    expect(row).toHaveTextContent('책을 빌리다');
    expect(screen.getByLabelText('Word')).toHaveFocus();
    expect(screen.getByLabelText('Word')).toHaveValue('');
    expect(fake.words[0]).toMatchObject({ word: 'to borrow', meaning: '빌리다', memo: '책을 빌리다' });
  });

  it('pastes many words, and keeps the text when the server says 413', async () => {
    const { fake, list } = withList();
    const { user } = renderApp({ fake, path: `/lists/${list.id}` });
    await screen.findByText(/No words yet/);
    await user.click(screen.getByText('Paste many words'));
    const box = screen.getByLabelText(/One per line/);
    await user.click(box);
    await user.paste('apple - 사과\nbook - 책\nnot a pair');
    expect(screen.getByText(/2 words ready, 1 line can't be read/)).toBeInTheDocument();
    expect(screen.getByText(/Line 3: no separator/)).toBeInTheDocument();

    fake.failNext('POST', /\/words$/, 413, 'payload_too_large', 'request body is larger than 262144 bytes');
    await user.click(screen.getByRole('button', { name: 'Add 2 words' }));
    expect(await screen.findByRole('alert')).toHaveTextContent("That's more than the server takes in one request");
    expect(box).toHaveValue('apple - 사과\nbook - 책\nnot a pair');

    await user.click(screen.getByRole('button', { name: 'Add 2 words' }));
    const result = await screen.findByText('Added 2 words.');
    await waitFor(() => expect(result).toHaveFocus());
    expect(fake.words.map((w) => [w.word, w.meaning])).toEqual([
      ['apple', '사과'],
      ['book', '책'],
    ]);
    expect(await screen.findAllByTestId('word-row')).toHaveLength(2);
  });

  it('edits a word and gives it a memo, showing a 400 at the field', async () => {
    const { fake, list } = withList([['apple', '사과']]);
    const { user } = renderApp({ fake, path: `/lists/${list.id}` });
    await user.click(await screen.findByRole('button', { name: 'Edit apple' }));
    const form = screen.getByRole('form', { name: 'Edit apple' });
    const meaning = within(form).getByLabelText('Meaning');
    await user.clear(meaning);
    await user.click(within(form).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(meaning).toHaveAccessibleDescription('is required'));
    await user.type(meaning, '사과 (과일)');
    await user.type(within(form).getByLabelText('Memo'), 'An apple a day');
    await user.click(within(form).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(screen.getByRole('button', { name: 'Edit apple' })).toHaveFocus());
    expect(screen.getByTestId('word-row')).toHaveTextContent('사과 (과일)');
    expect(fake.words[0]).toMatchObject({ meaning: '사과 (과일)', memo: 'An apple a day' });
  });

  it('rolls back a learned mark and a notebook change the server refuses', async () => {
    const { fake, list } = withList([['apple', '사과']]);
    const { user } = renderApp({ fake, path: `/lists/${list.id}` });
    const learned = await screen.findByRole('checkbox', { name: 'Learned: apple' });
    fake.failNext('PATCH', /\/words\//, 503, 'internal', 'internal error');
    await user.click(learned);
    expect(await screen.findByRole('alert')).toHaveTextContent('“apple” was not marked learned');
    expect(learned).not.toBeChecked();

    fake.offlineNext('PUT', /\/notebook\//);
    await user.click(screen.getByRole('button', { name: 'In notebook: apple' }));
    await waitFor(() => expect(screen.getByRole('alert')).toHaveTextContent('The notebook was not changed'));
    expect(screen.getByRole('button', { name: 'In notebook: apple' })).toHaveAttribute('aria-pressed', 'false');

    await user.click(screen.getByRole('button', { name: 'In notebook: apple' }));
    await waitFor(() => expect(screen.getByRole('button', { name: 'In notebook: apple' })).toHaveAttribute('aria-pressed', 'true'));
    expect(fake.words[0]!.in_notebook).toBe(true);
  });

  it('deletes selected words in one request', async () => {
    const { fake, list } = withList([
      ['a', '가'],
      ['b', '나'],
      ['c', '다'],
    ]);
    const { user } = renderApp({ fake, path: `/lists/${list.id}` });
    await user.click(await screen.findByRole('button', { name: 'Select words' }));
    await user.click(screen.getByRole('checkbox', { name: 'Select a' }));
    await user.click(screen.getByRole('checkbox', { name: 'Select c' }));
    await user.click(screen.getByRole('button', { name: 'Delete selected (2)' }));
    await user.click(within(screen.getByRole('dialog', { name: 'Delete 2 words?' })).getByRole('button', { name: 'Delete' }));
    expect(await screen.findByText('Deleted 2 words.')).toBeInTheDocument();
    expect(fake.calls.filter((c) => c.path.endsWith('/words/batch-delete'))).toHaveLength(1);
    expect(fake.words.map((w) => w.word)).toEqual(['b']);
  });
});

describe('a list’s own actions', () => {
  it('renames the list (focus back on its heading) and deletes it after asking', async () => {
    const { fake, list } = withList([['a', '가']]);
    const { user } = renderApp({ fake, path: `/lists/${list.id}` });
    await user.click(await screen.findByRole('button', { name: 'Rename' }));
    const input = screen.getByLabelText('List name');
    await user.clear(input);
    await user.click(screen.getByRole('button', { name: 'Save' }));
    expect(await screen.findByText('is required')).toBeInTheDocument();
    await user.type(input, '여행 영어 2');
    await user.click(screen.getByRole('button', { name: 'Save' }));
    const h1 = await screen.findByRole('heading', { level: 1, name: '여행 영어 2' });
    await waitFor(() => expect(h1).toHaveFocus());
    expect(fake.lists[0]!.name).toBe('여행 영어 2');

    await user.click(screen.getByRole('button', { name: 'Delete list' }));
    const dialog = screen.getByRole('dialog', { name: 'Delete “여행 영어 2”?' });
    expect(within(dialog).getByRole('button', { name: 'Cancel' })).toHaveFocus();
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(fake.lists).toHaveLength(1);
    await user.click(screen.getByRole('button', { name: 'Delete list' }));
    await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Delete list' }));
    expect(await screen.findByRole('heading', { level: 1, name: 'Your lists' })).toBeInTheDocument();
    expect(fake.lists).toHaveLength(0);
  });
});

describe('signing in again (401)', () => {
  it('keeps what was typed, and sends it once the user has signed in again', async () => {
    const { fake, list } = withList();
    const { user } = renderApp({ fake, path: `/lists/${list.id}` });
    await screen.findByText(/No words yet/);
    await user.type(screen.getByLabelText('Word'), '안녕하세요');
    await user.type(screen.getByLabelText('Meaning'), 'hello');
    fake.failNext('POST', /\/words$/, 401, 'unauthorized', 'no caller identity');
    await user.click(screen.getByRole('button', { name: 'Add word' }));

    const dialog = await screen.findByRole('dialog', { name: 'Your session has ended' });
    expect(within(dialog).getByLabelText('User id')).toHaveFocus();
    // The page is still there under the dialog, text and all.
    expect(screen.getByLabelText('Word')).toHaveValue('안녕하세요');
    await user.click(within(dialog).getByRole('button', { name: 'Sign in' }));

    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(await screen.findByTestId('word-row')).toHaveTextContent('안녕하세요');
    expect(fake.words.map((w) => w.word)).toEqual(['안녕하세요']);
  });
});

describe('too many requests (429)', () => {
  it('says it is waiting for Retry-After, then carries on by itself', async () => {
    const { fake, list } = withList();
    let wake!: () => void;
    const sleep = (_ms: number) => new Promise<void>((r) => (wake = r));
    const { user } = renderApp({ fake, path: `/lists/${list.id}`, sleep });
    await screen.findByText(/No words yet/);
    fake.failNext('POST', /\/words$/, 429, 'rate_limited', 'slow down', null, { 'retry-after': '5' });
    await user.type(screen.getByLabelText('Word'), 'wait');
    await user.type(screen.getByLabelText('Meaning'), '기다리다');
    await user.click(screen.getByRole('button', { name: 'Add word' }));
    expect(await screen.findByText(/The server asked us to slow down. Trying again in [45] s/)).toBeInTheDocument();
    act(() => wake());
    expect(await screen.findByTestId('word-row')).toHaveTextContent('wait');
    expect(screen.queryByText(/slow down/)).not.toBeInTheDocument();
  });

  it('lets the user retry only after a long Retry-After has passed', async () => {
    const fake = new FakeApi();
    fake.failNext('GET', /^\/lists$/, 429, 'rate_limited', 'slow down', null, { 'retry-after': '120' });
    renderApp({ fake });
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Too many requests. Try again in 120 s.');
    expect(within(alert).getByRole('button', { name: 'Retry in 120 s' })).toBeDisabled();
  });
});

describe('the notebooks page', () => {
  it('lists every non-empty notebook with its count, or says they are all empty', async () => {
    const { fake, list } = withList([['a', '가'], ['b', '나']]);
    fake.addList('alice', { name: 'Empty one' });
    const { user } = renderApp({ fake, path: '/notebooks' });
    expect(await screen.findByText(/Every notebook is empty/)).toBeInTheDocument();
    for (const w of fake.words) w.in_notebook = true;
    list.notebook_count = 2;
    await user.click(screen.getByRole('link', { name: 'Lists' }));
    await user.click(await screen.findByRole('link', { name: /Notebooks/ }));
    const link = await screen.findByRole('link', { name: '여행 영어' });
    expect(link).toHaveAttribute('href', `/lists/${list.id}/notebook`);
    expect(screen.getByText('2 words to review')).toBeInTheDocument();
    expect(screen.queryByText('Empty one')).not.toBeInTheDocument();
  });
});

describe('the profile', () => {
  it('shows the numbers from /me and signs out', async () => {
    const { fake } = withList([['a', '가']]);
    const { user } = renderApp({ fake, path: '/me' });
    expect((await screen.findByText('Lists', { selector: 'dt' })).closest('div')).toHaveTextContent('Lists1');
    expect(screen.getByText('Words').closest('div')).toHaveTextContent('Words1');
    await user.click(screen.getAllByRole('button', { name: 'Sign out' })[0]!);
    expect(await screen.findByRole('heading', { name: 'Sign in as' })).toBeInTheDocument();
  });
});

describe('sign-in with Cognito', () => {
  it('offers "Sign in with Google" and no "sign in as" form when /config.json says cognito', () => {
    renderApp({
      as: null,
      config: {
        api_base: '/api',
        auth: {
          mode: 'cognito',
          issuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x',
          domain: 'https://x.auth.us-east-1.amazoncognito.com',
          client_id: 'c',
          redirect_uri: 'http://localhost/auth/callback',
          logout_uri: 'http://localhost/',
          scopes: ['openid'],
        },
      },
    });
    expect(screen.getByRole('button', { name: 'Sign in with Google' })).toBeInTheDocument();
    expect(screen.queryByLabelText('User id')).not.toBeInTheDocument();
  });
});

describe('sign-in in dev mode', () => {
  it('offers a "sign in as" form and refuses ids a header cannot carry', async () => {
    const fake = new FakeApi();
    fake.addList('bob', { name: "Bob's list" });
    const { user } = renderApp({ fake, as: null });
    const input = screen.getByLabelText('User id');
    await user.type(input, '김 민수');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(input).toHaveAccessibleDescription(/no spaces/);
    await user.clear(input);
    await user.type(input, 'bob');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('link', { name: "Bob's list" })).toBeInTheDocument();
    expect(screen.getByTestId('user-email')).toHaveTextContent('bob');
    expect(fake.calls.every((c) => c.headers['x-dev-user'] === 'bob')).toBe(true);
  });
});

