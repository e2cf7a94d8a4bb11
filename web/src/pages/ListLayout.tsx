import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { ApiError } from '../api/client.ts';
import type { WordList } from '../api/types.ts';
import { ErrorPanel, Loading, describeError } from '../components/ErrorPanel.tsx';
import { Heading } from '../components/Heading.tsx';
import { LangPair } from '../components/Lang.tsx';
import { Link } from '../components/Link.tsx';
import { Confirm } from '../components/Modal.tsx';
import { useApp } from '../context.ts';
import { asApiError, useResource } from '../hooks/useResource.ts';
import { useDraft } from '../lib/drafts.ts';
import { blockImeEnter } from '../lib/ime.ts';
import { navigate } from '../lib/router.ts';
import { counts } from './Home.tsx';
import { NotebookTab } from './NotebookTab.tsx';
import { QuizTab } from './QuizTab.tsx';
import { StudyTab } from './StudyTab.tsx';
import { WordsTab } from './WordsTab.tsx';

export type Tab = 'list' | 'study' | 'quiz' | 'notebook';

export interface ListContext {
  list: WordList;
  /** Load the list again (its counters change with words, quizzes, the notebook). */
  refresh: () => void;
}

function RenameForm({ list, onDone }: { list: WordList; onDone: (l: WordList | null) => void }) {
  const { api } = useApp();
  const [name, setName, clear] = useDraft(`rename:${list.id}`, list.name);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const saved = await api.updateList(list.id, { name: name.trim() });
      clear();
      onDone(saved);
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };
  const fieldErr = error?.kind === 'invalid' ? error.message : null;
  return (
    <form className="rename" onSubmit={submit} onKeyDownCapture={blockImeEnter} noValidate>
      <label htmlFor="rename-input">List name</label>
      <div className="row">
        <input
          id="rename-input"
          value={name}
          onChange={(e) => setName(e.target.value)}
          autoFocus
          onKeyDown={(e) => e.key === 'Escape' && onDone(null)}
          aria-invalid={fieldErr ? true : undefined}
          aria-describedby={fieldErr ? 'rename-error' : undefined}
        />
        <button type="submit" className="primary" disabled={busy}>
          Save
        </button>
        <button type="button" onClick={() => onDone(null)}>
          Cancel
        </button>
      </div>
      {fieldErr && (
        <p id="rename-error" className="field-error">
          {fieldErr}
        </p>
      )}
      {error && !fieldErr && <ErrorPanel error={error} />}
    </form>
  );
}

function ListHeader({ list, setList }: { list: WordList; setList: (l: WordList) => void }) {
  const { api } = useApp();
  const [renaming, setRenaming] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const headingRef = useRef<HTMLDivElement>(null);
  const refocus = useRef(false);
  useEffect(() => {
    // Back to the heading, which now shows the result, once the rename form has gone.
    if (!renaming && refocus.current) {
      refocus.current = false;
      headingRef.current?.querySelector<HTMLElement>('h1')?.focus();
    }
  }, [renaming]);

  const toggleFavorite = async () => {
    const favorite = !list.favorite;
    setList({ ...list, favorite });
    try {
      setList(await api.updateList(list.id, { favorite }));
      setError(null);
    } catch (e) {
      setList({ ...list, favorite: list.favorite });
      setError(`Couldn't change the favourite: ${describeError(asApiError(e))}`);
    }
  };

  const remove = async () => {
    setDeleting(false);
    try {
      await api.deleteList(list.id);
      navigate('/');
    } catch (e) {
      setError(`The list was not deleted: ${describeError(asApiError(e))}`);
    }
  };

  return (
    <div className="list-header" ref={headingRef}>
      {renaming ? (
        <RenameForm
          list={list}
          onDone={(l) => {
            refocus.current = true;
            setRenaming(false);
            if (l) setList(l);
          }}
        />
      ) : (
        <div className="page-head">
          <Heading>{list.name}</Heading>
          <div className="toolbar">
            <button
              type="button"
              className={list.favorite ? 'star on' : 'star'}
              aria-pressed={list.favorite}
              aria-label="Favourite"
              title={list.favorite ? 'Remove from favourites' : 'Add to favourites'}
              onClick={() => void toggleFavorite()}
            >
              {list.favorite ? '★' : '☆'}
            </button>
            <button type="button" onClick={() => setRenaming(true)}>
              Rename
            </button>
            <button type="button" className="danger" onClick={() => setDeleting(true)}>
              Delete list
            </button>
          </div>
        </div>
      )}
      <p className="list-meta">
        <LangPair from={list.source_lang} to={list.target_lang} /> <span data-testid="list-counts">{counts(list)}</span>
      </p>
      {error && (
        <p className="notice error" role="alert">
          {error}
        </p>
      )}
      {deleting && (
        <Confirm
          title={`Delete “${list.name}”?`}
          message={<p>Its {list.word_count} words go with it. This can't be undone.</p>}
          confirm="Delete list"
          onConfirm={() => void remove()}
          onCancel={() => setDeleting(false)}
        />
      )}
    </div>
  );
}

export function ListLayout({ id, tab }: { id: string; tab: Tab }) {
  const { api } = useApp();
  const { res, reload, update } = useResource((s) => api.getList(id, s), [api, id]);
  // Counters are refreshed quietly: the header keeps showing the list meanwhile.
  const refresh = () => {
    api.getList(id).then((l) => update(() => l), () => undefined);
  };
  if (res.status === 'loading') return <Loading what="Loading the list…" />;
  if (res.status === 'error') {
    return (
      <>
        <Heading>{res.error.kind === 'not_found' ? 'List not found' : 'Word list'}</Heading>
        <ErrorPanel
          error={res.error}
          onRetry={reload}
          title={res.error.kind === 'not_found' ? "This list doesn't exist, or it was deleted." : "Couldn't load the list."}
        />
      </>
    );
  }
  const list = res.data;
  const base = `/lists/${encodeURIComponent(list.id)}`;
  const tabs: { tab: Tab; to: string; label: string }[] = [
    { tab: 'list', to: base, label: 'Words' },
    { tab: 'study', to: `${base}/study`, label: 'Study' },
    { tab: 'quiz', to: `${base}/quiz`, label: 'Quiz' },
    { tab: 'notebook', to: `${base}/notebook`, label: `Notebook (${list.notebook_count})` },
  ];
  const ctx: ListContext = { list, refresh };
  return (
    <>
      <ListHeader list={list} setList={(l) => update(() => l)} />
      <nav aria-label="List sections" className="tabs">
        <ul>
          {tabs.map((t) => (
            <li key={t.tab}>
              <Link to={t.to} aria-current={t.tab === tab ? 'page' : undefined}>
                {t.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      {tab === 'list' && <WordsTab {...ctx} />}
      {tab === 'study' && <StudyTab {...ctx} />}
      {tab === 'quiz' && <QuizTab {...ctx} />}
      {tab === 'notebook' && <NotebookTab {...ctx} />}
    </>
  );
}
