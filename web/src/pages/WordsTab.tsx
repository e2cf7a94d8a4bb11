import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import type { ApiError } from '../api/client.ts';
import type { Page, Word } from '../api/types.ts';
import { ErrorPanel, Loading, describeError } from '../components/ErrorPanel.tsx';
import { Confirm } from '../components/Modal.tsx';
import { Notice, useNotice } from '../components/Notice.tsx';
import { useApp } from '../context.ts';
import { asApiError, useResource } from '../hooks/useResource.ts';
import { useDraft } from '../lib/drafts.ts';
import { blockImeEnter } from '../lib/ime.ts';
import { chunkItems, parsePaste } from '../lib/paste.ts';
import type { ListContext } from './ListLayout.tsx';

/** Which input a 400's `field` belongs to (`items[3].word` → the paste box). */
function fieldOf(e: ApiError | null): string | null {
  if (!e || e.kind !== 'invalid' || !e.field) return null;
  return e.field.replace(/^items\[\d+\]\./, '');
}

function FieldError({ id, text }: { id: string; text: string | null }) {
  if (!text) return null;
  return (
    <p id={id} className="field-error">
      {text}
    </p>
  );
}

function AddWordForm({ list, onAdded }: ListContext & { onAdded: (w: Word) => void }) {
  const { api } = useApp();
  const [word, setWord, clearWord] = useDraft(`add:${list.id}:word`, '');
  const [meaning, setMeaning, clearMeaning] = useDraft(`add:${list.id}:meaning`, '');
  const [memo, setMemo, clearMemo] = useDraft(`add:${list.id}:memo`, '');
  const [error, setError] = useState<ApiError | null>(null);
  const [local, setLocal] = useState<{ field: string; message: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const wordRef = useRef<HTMLInputElement>(null);
  const meaningRef = useRef<HTMLInputElement>(null);
  const memoRef = useRef<HTMLTextAreaElement>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    setError(null);
    setLocal(null);
    if (!word.trim()) {
      setLocal({ field: 'word', message: 'Write the word.' });
      wordRef.current?.focus();
      return;
    }
    if (!meaning.trim()) {
      setLocal({ field: 'meaning', message: 'Write its meaning.' });
      meaningRef.current?.focus();
      return;
    }
    setBusy(true);
    try {
      const w = await api.addWord(list.id, { word: word.trim(), meaning: meaning.trim(), memo: memo.trim() });
      clearWord();
      clearMeaning();
      clearMemo();
      onAdded(w);
      // Ready for the next word.
      wordRef.current?.focus();
    } catch (err) {
      const ae = asApiError(err);
      setError(ae);
      const f = fieldOf(ae);
      (f === 'meaning' ? meaningRef : f === 'memo' ? memoRef : f === 'word' ? wordRef : null)?.current?.focus();
    } finally {
      setBusy(false);
    }
  };

  const f = local?.field ?? fieldOf(error);
  const msg = local?.message ?? (f ? (error?.message ?? null) : null);
  const err = (name: string) => (f === name ? msg : null);
  return (
    <form className="card add-word" onSubmit={submit} onKeyDownCapture={blockImeEnter} noValidate aria-labelledby="add-word-title">
      <h2 id="add-word-title">Add a word</h2>
      <div className="row">
        <div className="field grow">
          <label htmlFor="new-word">Word</label>
          <input
            id="new-word"
            ref={wordRef}
            lang={list.source_lang}
            value={word}
            onChange={(e) => setWord(e.target.value)}
            aria-invalid={err('word') ? true : undefined}
            aria-describedby={err('word') ? 'new-word-error' : undefined}
          />
          <FieldError id="new-word-error" text={err('word')} />
        </div>
        <div className="field grow">
          <label htmlFor="new-meaning">Meaning</label>
          <input
            id="new-meaning"
            ref={meaningRef}
            lang={list.target_lang}
            value={meaning}
            onChange={(e) => setMeaning(e.target.value)}
            aria-invalid={err('meaning') ? true : undefined}
            aria-describedby={err('meaning') ? 'new-meaning-error' : undefined}
          />
          <FieldError id="new-meaning-error" text={err('meaning')} />
        </div>
      </div>
      <div className="field">
        <label htmlFor="new-memo">
          Memo <span className="hint">(optional: an example sentence, a hint)</span>
        </label>
        <textarea
          id="new-memo"
          ref={memoRef}
          rows={2}
          value={memo}
          onChange={(e) => setMemo(e.target.value)}
          aria-invalid={err('memo') ? true : undefined}
          aria-describedby={err('memo') ? 'new-memo-error' : undefined}
        />
        <FieldError id="new-memo-error" text={err('memo')} />
      </div>
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Adding…' : 'Add word'}
      </button>
      {error && !f && <ErrorPanel error={error} title="The word was not added." />}
    </form>
  );
}

function PasteForm({ list, onAdded }: ListContext & { onAdded: (ws: Word[]) => void }) {
  const { api } = useApp();
  const [text, setText, clearText] = useDraft(`paste:${list.id}`, '');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const parsed = useMemo(() => parsePaste(text), [text]);
  const [result, say] = useNotice();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy || parsed.items.length === 0) return;
    setBusy(true);
    setError(null);
    const added: Word[] = [];
    try {
      for (const chunk of chunkItems(parsed.items)) {
        const out = await api.addWords(list.id, chunk);
        added.push(...out.items);
      }
      clearText();
      say(`Added ${added.length} ${added.length === 1 ? 'word' : 'words'}.`);
    } catch (err) {
      setError(asApiError(err));
      if (added.length > 0) {
        // Keep only what was not sent, so pressing the button again doesn't add words twice.
        const sent = new Set(added.map((w) => `${w.word}\u0000${w.meaning}`));
        setText(
          parsed.items
            .filter((it) => !sent.has(`${it.word}\u0000${it.meaning}`))
            .map((it) => `${it.word} - ${it.meaning}`)
            .join('\n'),
        );
        say(`Added ${added.length} words; the rest were not sent.`);
      }
    } finally {
      setBusy(false);
      if (added.length > 0) onAdded(added);
    }
  };

  return (
    <details className="card paste">
      <summary>
        <h2>Paste many words</h2>
      </summary>
      <form onSubmit={submit} noValidate>
        <label htmlFor="paste-text">
          One per line: <code>word - meaning</code> (or copy two or three columns from a spreadsheet: word, meaning, memo)
        </label>
        <textarea
          id="paste-text"
          rows={8}
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder={'apple - 사과\nto borrow - 빌리다'}
          aria-describedby="paste-summary"
        />
        <p id="paste-summary" className="hint" aria-live="polite">
          {text.trim() === ''
            ? 'Nothing pasted yet.'
            : `${parsed.items.length} ${parsed.items.length === 1 ? 'word' : 'words'} ready` +
              (parsed.errors.length > 0 ? `, ${parsed.errors.length} ${parsed.errors.length === 1 ? 'line' : 'lines'} can't be read (below).` : '.')}
        </p>
        {parsed.errors.length > 0 && (
          <ul className="paste-errors">
            {parsed.errors.slice(0, 20).map((er) => (
              <li key={er.line}>
                Line {er.line}: {er.message} — “{er.text}”
              </li>
            ))}
          </ul>
        )}
        <button type="submit" className="primary" disabled={busy || parsed.items.length === 0}>
          {busy ? 'Adding…' : parsed.items.length === 0 ? 'Add words' : `Add ${parsed.items.length} ${parsed.items.length === 1 ? 'word' : 'words'}`}
        </button>
        <Notice notice={result} />
        {error && <ErrorPanel error={error} title="Some words were not added." />}
      </form>
    </details>
  );
}

function EditWordForm({ list, word, onDone }: { list: ListContext['list']; word: Word; onDone: (w: Word | null) => void }) {
  const { api } = useApp();
  const [w, setW] = useDraft(`edit:${word.id}:word`, word.word);
  const [m, setM] = useDraft(`edit:${word.id}:meaning`, word.meaning);
  const [memo, setMemo] = useDraft(`edit:${word.id}:memo`, word.memo);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onDone(await api.updateWord(list.id, word.id, { word: w.trim(), meaning: m.trim(), memo: memo.trim() }));
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };
  const f = fieldOf(error);
  const err = (name: string) => (f === name ? (error?.message ?? null) : null);
  const id = (s: string) => `edit-${word.id}-${s}`;
  return (
    <form
      className="edit-word"
      onSubmit={submit}
      onKeyDownCapture={blockImeEnter}
      onKeyDown={(e) => e.key === 'Escape' && onDone(null)}
      noValidate
      aria-label={`Edit ${word.word}`}
    >
      <div className="row">
        <div className="field grow">
          <label htmlFor={id('word')}>Word</label>
          <input id={id('word')} lang={list.source_lang} value={w} onChange={(e) => setW(e.target.value)} autoFocus aria-invalid={err('word') ? true : undefined} aria-describedby={err('word') ? id('word-error') : undefined} />
          <FieldError id={id('word-error')} text={err('word')} />
        </div>
        <div className="field grow">
          <label htmlFor={id('meaning')}>Meaning</label>
          <input id={id('meaning')} lang={list.target_lang} value={m} onChange={(e) => setM(e.target.value)} aria-invalid={err('meaning') ? true : undefined} aria-describedby={err('meaning') ? id('meaning-error') : undefined} />
          <FieldError id={id('meaning-error')} text={err('meaning')} />
        </div>
      </div>
      <div className="field">
        <label htmlFor={id('memo')}>Memo</label>
        <textarea id={id('memo')} rows={2} value={memo} onChange={(e) => setMemo(e.target.value)} aria-invalid={err('memo') ? true : undefined} aria-describedby={err('memo') ? id('memo-error') : undefined} />
        <FieldError id={id('memo-error')} text={err('memo')} />
      </div>
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          Save
        </button>
        <button type="button" onClick={() => onDone(null)}>
          Cancel
        </button>
      </div>
      {error && !f && <ErrorPanel error={error} title="Not saved." />}
    </form>
  );
}

interface RowProps {
  list: ListContext['list'];
  word: Word;
  selecting: boolean;
  selected: boolean;
  onSelect: () => void;
  onChange: (w: Word) => void;
  onDelete: () => void;
  onError: (text: string) => void;
}

function WordRow({ list, word, selecting, selected, onSelect, onChange, onDelete, onError }: RowProps) {
  const { api } = useApp();
  const [editing, setEditing] = useState(false);
  const editRef = useRef<HTMLButtonElement>(null);
  const refocus = useRef(false);
  useEffect(() => {
    if (!editing && refocus.current) {
      refocus.current = false;
      editRef.current?.focus();
    }
  }, [editing]);

  // Optimistic: the control changes at once and goes back if the server says no.
  const setLearned = async (learned: boolean) => {
    onChange({ ...word, learned });
    try {
      onChange(await api.updateWord(list.id, word.id, { learned }));
    } catch (e) {
      onChange(word);
      onError(`“${word.word}” was not marked ${learned ? 'learned' : 'not learned'}: ${describeError(asApiError(e))}`);
    }
  };
  const setNotebook = async (inNotebook: boolean) => {
    onChange({ ...word, in_notebook: inNotebook });
    try {
      if (inNotebook) onChange(await api.addToNotebook(list.id, word.id));
      else {
        await api.removeFromNotebook(list.id, word.id);
        onChange({ ...word, in_notebook: false });
      }
    } catch (e) {
      onChange(word);
      onError(`The notebook was not changed for “${word.word}”: ${describeError(asApiError(e))}`);
    }
  };

  if (editing) {
    return (
      <li className="word-row editing">
        <EditWordForm
          list={list}
          word={word}
          onDone={(w) => {
            refocus.current = true;
            setEditing(false);
            if (w) onChange(w);
          }}
        />
      </li>
    );
  }
  return (
    <li className={word.learned ? 'word-row learned' : 'word-row'} data-testid="word-row">
      {selecting && <input type="checkbox" className="select-box" aria-label={`Select ${word.word}`} checked={selected} onChange={onSelect} />}
      <div className="word-text">
        <span className="word" lang={list.source_lang}>
          {word.word}
        </span>
        <span className="meaning" lang={list.target_lang}>
          {word.meaning}
        </span>
        {word.memo && <span className="memo">{word.memo}</span>}
        {(word.right_count > 0 || word.wrong_count > 0) && (
          <span className="stats" aria-label={`${word.right_count} right, ${word.wrong_count} wrong`}>
            ✓{word.right_count} ✗{word.wrong_count}
          </span>
        )}
      </div>
      <div className="word-actions">
        <label className="check">
          <input type="checkbox" checked={word.learned} onChange={(e) => void setLearned(e.target.checked)} aria-label={`Learned: ${word.word}`} />
          <span aria-hidden="true">Learned</span>
        </label>
        <button type="button" aria-pressed={word.in_notebook} aria-label={`In notebook: ${word.word}`} className={word.in_notebook ? 'chip on' : 'chip'} onClick={() => void setNotebook(!word.in_notebook)}>
          <span aria-hidden="true">{word.in_notebook ? '📒 In notebook' : '＋ Notebook'}</span>
        </button>
        <button type="button" ref={editRef} onClick={() => setEditing(true)} aria-label={`Edit ${word.word}`}>
          Edit
        </button>
        <button type="button" className="danger subtle" onClick={onDelete} aria-label={`Delete ${word.word}`}>
          Delete
        </button>
      </div>
    </li>
  );
}

type Filter = 'all' | 'unlearned' | 'learned';

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

export function WordsTab(ctx: ListContext) {
  const { list, refresh } = ctx;
  const { api } = useApp();
  const [filter, setFilter] = useState<Filter>('all');
  const [q, setQ] = useState('');
  const query = useDebounced(q.trim(), 300);
  const learned = filter === 'all' ? undefined : filter === 'learned';
  const { res, reload, update } = useResource<Page<Word>>((s) => api.listWords(list.id, { learned, q: query || undefined }, s), [api, list.id, learned, query]);
  const [more, setMore] = useState<{ busy: boolean; error: ApiError | null }>({ busy: false, error: null });
  const [selecting, setSelecting] = useState(false);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [confirm, setConfirm] = useState<Word[] | null>(null);
  const [notice, say] = useNotice();

  const loadMore = async () => {
    if (res.status !== 'ready' || !res.data.next_cursor) return;
    setMore({ busy: true, error: null });
    try {
      const next = await api.listWords(list.id, { learned, q: query || undefined, cursor: res.data.next_cursor });
      update((p) => ({ items: [...p.items, ...next.items], next_cursor: next.next_cursor }));
      setMore({ busy: false, error: null });
    } catch (e) {
      setMore({ busy: false, error: asApiError(e) });
    }
  };

  const replace = (w: Word) => update((p) => ({ ...p, items: p.items.map((x) => (x.id === w.id ? w : x)) }));
  const added = (ws: Word[]) => {
    update((p) => ({ ...p, items: [...p.items, ...ws.filter((w) => !p.items.some((x) => x.id === w.id))] }));
    refresh();
  };

  const remove = async (words: Word[]) => {
    setConfirm(null);
    if (res.status !== 'ready') return;
    const before = res.data;
    const ids = new Set(words.map((w) => w.id));
    update((p) => ({ ...p, items: p.items.filter((w) => !ids.has(w.id)) }));
    try {
      if (words.length === 1) {
        await api.deleteWord(list.id, (words[0] as Word).id);
        say(`Deleted “${(words[0] as Word).word}”.`);
      } else {
        const out = await api.deleteWords(list.id, [...ids]);
        say(`Deleted ${out.deleted.length} words${out.not_found.length ? ` (${out.not_found.length} were already gone)` : ''}.`);
      }
      setSelected(new Set());
      setSelecting(false);
      refresh();
    } catch (e) {
      update(() => before);
      say(`Nothing was deleted: ${describeError(asApiError(e))}`, { error: true });
    }
  };

  const items = res.status === 'ready' ? res.data.items : [];
  const toggle = (id: string) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });

  return (
    <div className="words-tab">
      <AddWordForm
        {...ctx}
        onAdded={(w) => {
          added([w]);
          say(`Added “${w.word}”.`, { focus: false });
        }}
      />
      <PasteForm {...ctx} onAdded={added} />
      <section aria-labelledby="words-title" className="words">
        <div className="page-head">
          <h2 id="words-title">Words</h2>
          <div className="toolbar">
            {selecting ? (
              <>
                <button type="button" onClick={() => setSelected(new Set(items.map((w) => w.id)))}>
                  Select all shown
                </button>
                <button type="button" className="danger" disabled={selected.size === 0} onClick={() => setConfirm(items.filter((w) => selected.has(w.id)))}>
                  Delete selected ({selected.size})
                </button>
                <button
                  type="button"
                  onClick={() => {
                    setSelecting(false);
                    setSelected(new Set());
                  }}
                >
                  Done
                </button>
              </>
            ) : (
              <button type="button" onClick={() => setSelecting(true)} disabled={items.length === 0}>
                Select words
              </button>
            )}
          </div>
        </div>
        <div className="filters row">
          <div className="field grow">
            <label htmlFor="word-search">Search</label>
            <input id="word-search" type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="word or meaning" />
          </div>
          <div className="field">
            <label htmlFor="word-filter">Show</label>
            <select id="word-filter" value={filter} onChange={(e) => setFilter(e.target.value as Filter)}>
              <option value="all">All words</option>
              <option value="unlearned">Not learned yet</option>
              <option value="learned">Learned</option>
            </select>
          </div>
        </div>
        <Notice notice={notice} />
        {res.status === 'loading' && <Loading what="Loading words…" />}
        {res.status === 'error' && <ErrorPanel error={res.error} onRetry={reload} title="Couldn't load the words." />}
        {res.status === 'ready' && items.length === 0 && (
          <p className="empty">{query || learned !== undefined ? 'No words match.' : 'No words yet. Add one above, or paste many at once.'}</p>
        )}
        {items.length > 0 && (
          <ul className="word-list" aria-label="Words">
            {items.map((w) => (
              <WordRow
                key={w.id}
                list={list}
                word={w}
                selecting={selecting}
                selected={selected.has(w.id)}
                onSelect={() => toggle(w.id)}
                onChange={(nw) => {
                  replace(nw);
                  if (nw.learned !== w.learned || nw.in_notebook !== w.in_notebook) refresh();
                }}
                onDelete={() => setConfirm([w])}
                onError={(t) => say(t, { error: true })}
              />
            ))}
          </ul>
        )}
        {res.status === 'ready' && res.data.next_cursor && (
          <button type="button" onClick={() => void loadMore()} disabled={more.busy}>
            {more.busy ? 'Loading…' : 'Show more'}
          </button>
        )}
        {more.error && <ErrorPanel error={more.error} onRetry={() => void loadMore()} />}
      </section>
      {confirm && (
        <Confirm
          title={confirm.length === 1 ? `Delete “${(confirm[0] as Word).word}”?` : `Delete ${confirm.length} words?`}
          message={<p>This can't be undone.</p>}
          confirm="Delete"
          onConfirm={() => void remove(confirm)}
          onCancel={() => setConfirm(null)}
        />
      )}
    </div>
  );
}
