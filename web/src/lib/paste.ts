// The "paste many" parser: one word per line, `word - meaning` (or a spreadsheet's
// `word<TAB>meaning<TAB>memo`). Lines it can't read are reported by number, never dropped
// silently; the API still validates what is sent.

import type { NewWord } from '../api/types.ts';

export const MAX_WORD = 200;
export const MAX_MEANING = 1000;
export const MAX_MEMO = 2000;
/** The API's limit per bulk add. */
export const MAX_ITEMS_PER_REQUEST = 500;
/** Well under the API's 256 KiB body limit, so a paste is split before it could get a 413. */
export const MAX_BYTES_PER_REQUEST = 200 * 1024;

export interface PasteError {
  line: number;
  text: string;
  message: string;
}

export interface PasteResult {
  items: NewWord[];
  errors: PasteError[];
}

// A hyphen separates only with white space on at least one side, so `well-known - 잘 알려진`
// splits after `well-known`; en and em dashes, `=` and `:` surrounded by spaces also separate.
const SEPARATOR = /\s+[-–—=]\s*|\s*[-–—=]\s+|\s*[–—]\s*|\s+:\s+/;

/** Characters (code points), as the API counts them: Hangul syllables count one each. */
export function charCount(s: string): number {
  let n = 0;
  for (const _ of s) n += 1;
  return n;
}

export function parsePaste(text: string): PasteResult {
  const items: NewWord[] = [];
  const errors: PasteError[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const n = i + 1;
    let word: string;
    let meaning: string;
    let memo = '';
    if (raw.includes('\t')) {
      const cols = raw.split('\t').map((c) => c.trim());
      word = cols[0] ?? '';
      meaning = cols[1] ?? '';
      memo = cols.slice(2).filter(Boolean).join(' ');
    } else {
      const m = SEPARATOR.exec(line);
      if (!m) {
        errors.push({ line: n, text: line, message: 'no separator: write "word - meaning"' });
        return;
      }
      word = line.slice(0, m.index).trim();
      meaning = line.slice(m.index + m[0].length).trim();
    }
    const problem =
      word === ''
        ? 'the word is empty'
        : meaning === ''
          ? 'the meaning is empty'
          : charCount(word) > MAX_WORD
            ? `the word is longer than ${MAX_WORD} characters`
            : charCount(meaning) > MAX_MEANING
              ? `the meaning is longer than ${MAX_MEANING} characters`
              : charCount(memo) > MAX_MEMO
                ? `the memo is longer than ${MAX_MEMO} characters`
                : null;
    if (problem) {
      errors.push({ line: n, text: line, message: problem });
      return;
    }
    items.push(memo ? { word, meaning, memo } : { word, meaning });
  });
  return { items, errors };
}

/** Splits items into requests the API accepts: ≤ 500 items and well under 256 KiB each. */
export function chunkItems(items: NewWord[], maxItems = MAX_ITEMS_PER_REQUEST, maxBytes = MAX_BYTES_PER_REQUEST): NewWord[][] {
  const enc = new TextEncoder();
  const chunks: NewWord[][] = [];
  let cur: NewWord[] = [];
  let bytes = 16; // {"items":[]}
  for (const it of items) {
    const size = enc.encode(JSON.stringify(it)).length + 1;
    if (cur.length > 0 && (cur.length >= maxItems || bytes + size > maxBytes)) {
      chunks.push(cur);
      cur = [];
      bytes = 16;
    }
    cur.push(it);
    bytes += size;
  }
  if (cur.length > 0) chunks.push(cur);
  return chunks;
}
