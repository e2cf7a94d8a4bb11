import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { flag, languageName, primaryLanguage } from '../../src/lib/langs.ts';
import { parseRoute, routeTemplate } from '../../src/lib/router.ts';
import { shuffled } from '../../src/lib/shuffle.ts';
import { groupLists } from '../../src/pages/Home.tsx';
import type { WordList } from '../../src/api/types.ts';

describe('languages', () => {
  it('shows a flag from the region, or the usual one for the language', () => {
    expect(flag('ko')).toBe('🇰🇷');
    expect(flag('en')).toBe('🇺🇸');
    expect(flag('en-GB')).toBe('🇬🇧');
    expect(flag('zh-Hant-TW')).toBe('🇹🇼');
    expect(flag('eo')).toBe('🌐');
  });
  it('names languages in words', () => {
    expect(languageName('ko')).toBe('Korean');
    expect(primaryLanguage('en-US')).toBe('en');
  });
});

const list = (name: string, source_lang: string, favorite = false): WordList => ({
  id: name,
  name,
  source_lang,
  target_lang: 'ko',
  favorite,
  word_count: 0,
  learned_count: 0,
  notebook_count: 0,
  created_at: '',
  updated_at: '',
});

describe('the home page grouping', () => {
  it('puts favourites first, then one group per source language by name, each in creation order', () => {
    const groups = groupLists([list('a', 'ko'), list('b', 'en'), list('c', 'en-GB', true), list('d', 'ja'), list('e', 'en')]);
    expect(groups.map((g) => [g.title, g.lists.map((l) => l.name)])).toEqual([
      ['Favourites', ['c']],
      ['English', ['b', 'e']],
      ['Japanese', ['d']],
      ['Korean', ['a']],
    ]);
  });
  it('has no favourites group when nothing is a favourite', () => {
    expect(groupLists([list('a', 'ko')]).map((g) => g.key)).toEqual(['lang-ko']);
  });
});

describe('routes', () => {
  it('parses every screen and gives telemetry a template without ids', () => {
    expect(parseRoute('/')).toEqual({ name: 'home' });
    expect(parseRoute('/lists/abc')).toEqual({ name: 'list', id: 'abc' });
    expect(parseRoute('/lists/abc/study/')).toEqual({ name: 'study', id: 'abc' });
    expect(parseRoute('/lists/abc/quiz')).toEqual({ name: 'quiz', id: 'abc' });
    expect(parseRoute('/lists/abc/notebook')).toEqual({ name: 'notebook', id: 'abc' });
    expect(parseRoute('/notebooks')).toEqual({ name: 'notebooks' });
    expect(parseRoute('/me')).toEqual({ name: 'me' });
    expect(parseRoute('/auth/callback')).toEqual({ name: 'callback' });
    expect(parseRoute('/nope')).toEqual({ name: 'not_found' });
    expect(routeTemplate(parseRoute('/lists/abc/study'))).toBe('/lists/{list_id}/study');
  });
  it('gives every page a template starting with / (the API refuses any other page)', () => {
    for (const p of ['/', '/lists/a', '/lists/a/study', '/lists/a/quiz', '/lists/a/notebook', '/notebooks', '/me', '/auth/callback', '/x/y?z']) {
      expect(routeTemplate(parseRoute(p))).toMatch(/^\//);
    }
  });
});

describe('the runtime config', () => {
  it('accepts dev mode and cognito mode as CONTRACTS.md section A writes them', () => {
    expect(parseConfig({ api_base: '/api', auth: { mode: 'dev' } })).toEqual({ api_base: '/api', auth: { mode: 'dev' } });
    const c = parseConfig({
      api_base: '/api',
      auth: {
        mode: 'cognito',
        issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc',
        domain: 'https://vocab.auth.eu-west-1.amazoncognito.com/',
        client_id: 'client123',
        redirect_uri: 'https://app.example/auth/callback',
        logout_uri: 'https://app.example/',
        scopes: ['openid', 'email', 'profile'],
        identity_provider: 'Google',
      },
    });
    expect(c.auth).toMatchObject({ mode: 'cognito', domain: 'https://vocab.auth.eu-west-1.amazoncognito.com', identity_provider: 'Google' });
  });
  it('refuses a config it cannot use, saying which key', () => {
    expect(() => parseConfig({ auth: { mode: 'magic' } })).toThrow(/auth.mode/);
    expect(() => parseConfig({ auth: { mode: 'cognito', issuer: 'x' } })).toThrow(/auth.issuer must be an absolute URL/);
    expect(() => parseConfig(null)).toThrow(/JSON object/);
  });
});

describe('shuffle', () => {
  it('returns a permutation and leaves the input alone', () => {
    const input = Array.from({ length: 20 }, (_, i) => i);
    const out = shuffled(input);
    expect([...out].sort((a, b) => a - b)).toEqual(input);
    expect(input).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});
