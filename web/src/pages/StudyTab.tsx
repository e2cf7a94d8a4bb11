import { useMemo, useState } from 'react';
import type { Word } from '../api/types.ts';
import { ErrorPanel, Loading, describeError } from '../components/ErrorPanel.tsx';
import { Heading } from '../components/Heading.tsx';
import { Link } from '../components/Link.tsx';
import { useApp } from '../context.ts';
import { asApiError, useResource } from '../hooks/useResource.ts';
import { shuffled } from '../lib/shuffle.ts';
import type { ListContext } from './ListLayout.tsx';

export type Source = 'all' | 'unlearned' | 'notebook' | 'missed';

export interface Hidden {
  word: boolean;
  meaning: boolean;
  memo: boolean;
}

/** Hiding the word and the meaning together would leave a blank card: one hides the other's box. */
export function setHidden(h: Hidden, part: keyof Hidden, on: boolean): Hidden {
  const next = { ...h, [part]: on };
  if (on && part === 'word') next.meaning = false;
  if (on && part === 'meaning') next.word = false;
  return next;
}

function readOptions(search: string): { source: Source; hidden: Hidden; shuffle: boolean } {
  const q = new URLSearchParams(search);
  const source = (['all', 'unlearned', 'notebook', 'missed'] as const).find((s) => s === q.get('source')) ?? 'all';
  const hide = new Set((q.get('hide') ?? '').split(','));
  let hidden: Hidden = { word: false, meaning: false, memo: false };
  for (const p of ['word', 'meaning', 'memo'] as const) if (hide.has(p)) hidden = setHidden(hidden, p, true);
  return { source, hidden, shuffle: q.get('shuffle') === '1' };
}

export function StudyTab({ list }: ListContext) {
  const { api } = useApp();
  const initial = useMemo(() => readOptions(location.search), []);
  const [source, setSource] = useState<Source>(initial.source);
  const [hidden, setHiddenState] = useState<Hidden>(initial.hidden);
  const [shuffle, setShuffle] = useState(initial.shuffle);
  const [seed, setSeed] = useState(0);
  const [index, setIndex] = useState(0);
  const [revealed, setRevealed] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);

  const { res, reload, update } = useResource<Word[]>(
    (s) => {
      switch (source) {
        case 'unlearned':
          return api.allWords(list.id, { learned: false }, s);
        case 'notebook':
          return api.allNotebook(list.id, s);
        case 'missed':
          return api.review(list.id, s).then((p) => p.items);
        default:
          return api.allWords(list.id, {}, s);
      }
    },
    [api, list.id, source],
  );

  // The order is fixed per shuffle, so a card's learned/notebook change doesn't reshuffle.
  const order = useMemo(() => {
    if (res.status !== 'ready') return [] as string[];
    const ids = res.data.map((w) => w.id);
    return shuffle ? shuffled(ids) : ids;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [res.status, res.data?.length, shuffle, seed]);
  const byId = useMemo(() => new Map((res.data ?? []).map((w) => [w.id, w])), [res.data]);
  const cards = order.map((id) => byId.get(id)).filter((w): w is Word => w !== undefined);
  const card = cards[Math.min(index, cards.length - 1)];

  /** Changing what's on the cards starts again at the first one. */
  const restart = () => {
    setIndex(0);
    setRevealed(false);
  };

  const go = (d: number) => {
    setIndex((i) => Math.max(0, Math.min(cards.length - 1, i + d)));
    setRevealed(false);
  };

  const onKeyDown = (e: React.KeyboardEvent) => {
    if ((e.target as HTMLElement).closest('input, select, textarea')) return;
    if (e.key === 'ArrowRight') go(1);
    else if (e.key === 'ArrowLeft') go(-1);
    else return;
    e.preventDefault();
  };

  const patch = async (w: Word, change: Partial<Word>, call: () => Promise<Word | void>) => {
    update((ws) => ws.map((x) => (x.id === w.id ? { ...x, ...change } : x)));
    try {
      const saved = await call();
      if (saved) update((ws) => ws.map((x) => (x.id === w.id ? saved : x)));
    } catch (e) {
      update((ws) => ws.map((x) => (x.id === w.id ? w : x)));
      setNotice(`Not saved: ${describeError(asApiError(e))}`);
    }
  };

  const anyHidden = hidden.word || hidden.meaning || hidden.memo;
  const part = (name: keyof Hidden, label: string, content: React.ReactNode) =>
    hidden[name] && !revealed ? (
      <span className="hidden-part" aria-label={`${label} hidden`}>
        ？
      </span>
    ) : (
      content
    );

  return (
    <section aria-labelledby="study-title" className="study" onKeyDown={onKeyDown}>
      <Heading level={2} id="study-title">
        Study
      </Heading>
      <fieldset className="study-options">
        <legend>Options</legend>
        <div className="row">
          <div className="field">
            <label htmlFor="study-source">Cards</label>
            <select id="study-source" value={source} onChange={(e) => {
                setSource(e.target.value as Source);
                restart();
              }}>
              <option value="all">All words</option>
              <option value="unlearned">Review: not learned yet</option>
              <option value="notebook">Notebook (오답 노트)</option>
              <option value="missed">Most missed in quizzes</option>
            </select>
          </div>
          <div className="field checks" role="group" aria-labelledby="hide-label" aria-describedby="hide-hint">
            <span id="hide-label" className="label">
              Hide
            </span>
            {(['word', 'meaning', 'memo'] as const).map((p) => {
              const blocked = (p === 'word' && hidden.meaning) || (p === 'meaning' && hidden.word);
              return (
                <label key={p} className="check">
                  <input
                    type="checkbox"
                    checked={hidden[p]}
                    disabled={blocked}
                    onChange={(e) => setHiddenState((h) => setHidden(h, p, e.target.checked))}
                  />
                  {p === 'word' ? 'Word' : p === 'meaning' ? 'Meaning' : 'Memo'}
                </label>
              );
            })}
            <span id="hide-hint" className="hint">
              The word and the meaning can't both be hidden.
            </span>
          </div>
          <div className="field checks">
            <label className="check">
              <input type="checkbox" checked={shuffle} onChange={(e) => {
                  setShuffle(e.target.checked);
                  restart();
                }} />
              Shuffle
            </label>
            {shuffle && (
              <button type="button" onClick={() => {
                  setSeed((s) => s + 1);
                  restart();
                }}>
                Shuffle again
              </button>
            )}
          </div>
        </div>
      </fieldset>
      {notice && (
        <p className="notice error" role="alert">
          {notice}
        </p>
      )}
      {res.status === 'loading' && <Loading what="Loading cards…" />}
      {res.status === 'error' && <ErrorPanel error={res.error} onRetry={reload} title="Couldn't load the cards." />}
      {res.status === 'ready' && cards.length === 0 && (
        <p className="empty">
          {source === 'all' ? (
            <>
              No words to study yet. <Link to={`/lists/${encodeURIComponent(list.id)}`}>Add some words</Link>.
            </>
          ) : source === 'unlearned' ? (
            'Every word here is learned. 🎉'
          ) : source === 'notebook' ? (
            'The notebook is empty.'
          ) : (
            'No word has been missed in a quiz yet.'
          )}
        </p>
      )}
      {card && (
        <div className="flashcard-wrap">
          <p className="progress" aria-live="polite">
            Card {Math.min(index, cards.length - 1) + 1} of {cards.length}
          </p>
          <article className="flashcard card" aria-label="Flashcard" data-testid="flashcard">
            <div className="fc-word" lang={list.source_lang} data-testid="fc-word">
              {part('word', 'Word', card.word)}
            </div>
            <div className="fc-meaning" lang={list.target_lang} data-testid="fc-meaning">
              {part('meaning', 'Meaning', card.meaning)}
            </div>
            {card.memo && (
              <div className="fc-memo" data-testid="fc-memo">
                {part('memo', 'Memo', card.memo)}
              </div>
            )}
            <div className="fc-actions">
              {anyHidden && (
                <button type="button" className="primary" onClick={() => setRevealed((r) => !r)} aria-expanded={revealed}>
                  {revealed ? 'Hide again' : 'Show'}
                </button>
              )}
              <label className="check">
                <input
                  type="checkbox"
                  checked={card.learned}
                  onChange={(e) => void patch(card, { learned: e.target.checked }, () => api.updateWord(list.id, card.id, { learned: e.target.checked }))}
                />
                Learned
              </label>
              <button
                type="button"
                className={card.in_notebook ? 'chip on' : 'chip'}
                aria-pressed={card.in_notebook}
                aria-label="In notebook"
                onClick={() =>
                  void patch(card, { in_notebook: !card.in_notebook }, () =>
                    card.in_notebook ? api.removeFromNotebook(list.id, card.id) : api.addToNotebook(list.id, card.id),
                  )
                }
              >
                <span aria-hidden="true">{card.in_notebook ? '📒 In notebook' : '＋ Notebook'}</span>
              </button>
            </div>
          </article>
          <div className="fc-nav">
            <button type="button" onClick={() => go(-1)} disabled={index === 0}>
              ← Previous
            </button>
            <button type="button" onClick={() => go(1)} disabled={index >= cards.length - 1}>
              Next →
            </button>
          </div>
        </div>
      )}
    </section>
  );
}
