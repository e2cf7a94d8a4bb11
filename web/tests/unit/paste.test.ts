import { describe, expect, it } from 'vitest';
import { charCount, chunkItems, parsePaste } from '../../src/lib/paste.ts';

describe('the paste parser', () => {
  it('reads "word - meaning" lines and keeps Hangul exactly as pasted', () => {
    const r = parsePaste('apple - 사과\nto borrow - 빌리다\n\n  station -  역  \n');
    expect(r.errors).toEqual([]);
    expect(r.items).toEqual([
      { word: 'apple', meaning: '사과' },
      { word: 'to borrow', meaning: '빌리다' },
      { word: 'station', meaning: '역' },
    ]);
  });

  it('splits at the first spaced separator, so hyphenated words and dashes in meanings survive', () => {
    const r = parsePaste('well-known - 잘 알려진\nT-shirt - 티셔츠 - 반팔\ne-mail -이메일\nrun– 달리다\nsea — 바다\nday = 날\nnight : 밤');
    expect(r.items).toEqual([
      { word: 'well-known', meaning: '잘 알려진' },
      { word: 'T-shirt', meaning: '티셔츠 - 반팔' },
      { word: 'e-mail', meaning: '이메일' },
      { word: 'run', meaning: '달리다' },
      { word: 'sea', meaning: '바다' },
      { word: 'day', meaning: '날' },
      { word: 'night', meaning: '밤' },
    ]);
  });

  it('reads spreadsheet columns (tab-separated) with an optional memo', () => {
    const r = parsePaste('사과\tapple\tfruit; 사과를 먹다\r\n책\tbook\r\n');
    expect(r.items).toEqual([
      { word: '사과', meaning: 'apple', memo: 'fruit; 사과를 먹다' },
      { word: '책', meaning: 'book' },
    ]);
  });

  it('names each line it cannot read instead of dropping it', () => {
    const r = parsePaste('\uFEFFapple - 사과\nbanana\n - 빈 단어\ncherry - \nok - 좋아');
    expect(r.items.map((i) => i.word)).toEqual(['apple', 'ok']);
    expect(r.errors).toEqual([
      { line: 2, text: 'banana', message: 'no separator: write "word - meaning"' },
      { line: 3, text: '- 빈 단어', message: 'the word is empty' },
      { line: 4, text: 'cherry -', message: 'the meaning is empty' },
    ]);
  });

  it('checks the API limits in characters, so 200 Hangul syllables are a valid word', () => {
    const long = '가'.repeat(200);
    expect(charCount(long)).toBe(200);
    expect(charCount('😀')).toBe(1);
    expect(parsePaste(`${long} - x`).errors).toEqual([]);
    expect(parsePaste(`${long}가 - x`).errors[0]?.message).toBe('the word is longer than 200 characters');
  });

  it('mixes scripts without changing a character (NFC and NFD stay as typed)', () => {
    const nfd = '한국어'.normalize('NFD');
    const r = parsePaste(`Straße café - ${nfd} 日本語`);
    expect(r.items[0]).toEqual({ word: 'Straße café', meaning: `${nfd} 日本語` });
  });
});

describe('splitting a paste into requests', () => {
  it('keeps each request within 500 items', () => {
    const items = Array.from({ length: 1201 }, (_, i) => ({ word: `w${i}`, meaning: `m${i}` }));
    const chunks = chunkItems(items);
    expect(chunks.map((c) => c.length)).toEqual([500, 500, 201]);
    expect(chunks.flat()).toEqual(items);
  });

  it("keeps each request's body well under the 256 KiB API limit", () => {
    const meaning = '뜻'.repeat(1000); // 3000 bytes in UTF-8
    const items = Array.from({ length: 300 }, (_, i) => ({ word: `w${i}`, meaning }));
    const chunks = chunkItems(items);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(new TextEncoder().encode(JSON.stringify({ items: c })).length).toBeLessThan(256 * 1024);
    expect(chunks.flat()).toEqual(items);
  });
});
