import type { ReactNode } from 'react';
import type { Word, WordList } from '../api/types.ts';

/** A word, its meaning and memo, each in its own language, and a line of stats. */
export function WordText({ list, word, stats }: { list: WordList; word: Word; stats: ReactNode }) {
  return (
    <div className="word-text">
      <span className="word" lang={list.source_lang}>
        {word.word}
      </span>
      <span className="meaning" lang={list.target_lang}>
        {word.meaning}
      </span>
      {word.memo && <span className="memo">{word.memo}</span>}
      {stats}
    </div>
  );
}
