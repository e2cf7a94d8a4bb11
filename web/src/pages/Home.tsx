import { useMemo, useRef, useState, type FormEvent } from 'react';
import type { ApiError } from '../api/client.ts';
import type { WordList } from '../api/types.ts';
import { ErrorPanel, Loading, describeError } from '../components/ErrorPanel.tsx';
import { Heading } from '../components/Heading.tsx';
import { Lang, LangPair } from '../components/Lang.tsx';
import { Link } from '../components/Link.tsx';
import { Confirm } from '../components/Modal.tsx';
import { Notice, useNotice } from '../components/Notice.tsx';
import { useApp } from '../context.ts';
import { asApiError, useResource } from '../hooks/useResource.ts';
import { useDraft } from '../lib/drafts.ts';
import { blockImeEnter } from '../lib/ime.ts';
import { COMMON_LANGUAGES, languageName, primaryLanguage } from '../lib/langs.ts';
import { navigate } from '../lib/router.ts';

export function counts(l: WordList): string {
  const parts = [`${l.word_count} ${l.word_count === 1 ? 'word' : 'words'}`, `${l.learned_count} learned`];
  if (l.notebook_count > 0) parts.push(`${l.notebook_count} in notebook`);
  return parts.join(' · ');
}

/** Favourites first, then one group per source language (by name), each in creation order. */
export function groupLists(lists: WordList[]): { key: string; title: string; lang?: string; lists: WordList[] }[] {
  const favs = lists.filter((l) => l.favorite);
  const byLang = new Map<string, WordList[]>();
  for (const l of lists) {
    if (l.favorite) continue;
    const k = primaryLanguage(l.source_lang);
    byLang.set(k, [...(byLang.get(k) ?? []), l]);
  }
  const groups = [...byLang.entries()]
    .sort(([a], [b]) => languageName(a).localeCompare(languageName(b)))
    .map(([k, ls]) => ({ key: `lang-${k}`, title: languageName(k), lang: k, lists: ls }));
  return favs.length > 0 ? [{ key: 'favorites', title: 'Favourites', lists: favs }, ...groups] : groups;
}

function LanguageSelect({ id, label, value, onChange }: { id: string; label: string; value: string; onChange: (v: string) => void }) {
  const options = COMMON_LANGUAGES.includes(value) ? COMMON_LANGUAGES : [value, ...COMMON_LANGUAGES];
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        {options.map((t) => (
          <option key={t} value={t}>
            {languageName(t)}
          </option>
        ))}
      </select>
    </div>
  );
}

function CreateListForm() {
  const { api } = useApp();
  const [name, setName, clearName] = useDraft('createList.name', '');
  const [from, setFrom] = useState('en');
  const [to, setTo] = useState('ko');
  const [busy, setBusy] = useState(false);
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const nameRef = useRef<HTMLInputElement>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    setError(null);
    setFieldError(null);
    if (name.trim() === '') {
      setFieldError('Give the list a name.');
      nameRef.current?.focus();
      return;
    }
    setBusy(true);
    try {
      const list = await api.createList({ name: name.trim(), source_lang: from, target_lang: to });
      clearName();
      navigate(`/lists/${encodeURIComponent(list.id)}`);
    } catch (err) {
      const ae = asApiError(err);
      // A 400 about the name is shown at the name; anything else below the form.
      if (ae.kind === 'invalid' && ae.field === 'name') {
        setFieldError(ae.message);
        nameRef.current?.focus();
      } else {
        setError(ae);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card create-list" onSubmit={submit} onKeyDownCapture={blockImeEnter} noValidate aria-labelledby="create-list-title">
      <h2 id="create-list-title">New list</h2>
      <div className="row">
        <div className="field grow">
          <label htmlFor="list-name">Name</label>
          <input
            id="list-name"
            ref={nameRef}
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="e.g. 여행 영어"
            aria-invalid={fieldError ? true : undefined}
            aria-describedby={fieldError ? 'list-name-error' : undefined}
          />
          {fieldError && (
            <p id="list-name-error" className="field-error">
              {fieldError}
            </p>
          )}
        </div>
        <LanguageSelect id="list-from" label="Words in" value={from} onChange={setFrom} />
        <LanguageSelect id="list-to" label="Meanings in" value={to} onChange={setTo} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create list'}
        </button>
      </div>
      {error && <ErrorPanel error={error} title="The list was not created." />}
    </form>
  );
}

export function Home() {
  const { api } = useApp();
  const { res, reload, update } = useResource((s) => api.allLists(s), [api]);
  const [selecting, setSelecting] = useState(false);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [confirming, setConfirming] = useState(false);
  const [notice, say] = useNotice();

  const groups = useMemo(() => (res.status === 'ready' ? groupLists(res.data) : []), [res]);

  const toggleFavorite = async (list: WordList) => {
    const favorite = !list.favorite;
    update((ls) => ls.map((l) => (l.id === list.id ? { ...l, favorite } : l)));
    try {
      const saved = await api.updateList(list.id, { favorite });
      update((ls) => ls.map((l) => (l.id === list.id ? saved : l)));
    } catch (e) {
      // Roll back: the star shows what the server has.
      update((ls) => ls.map((l) => (l.id === list.id ? { ...l, favorite: list.favorite } : l)));
      say(`Couldn't ${favorite ? 'add' : 'remove'} the favourite “${list.name}”: ${describeError(asApiError(e))}`, { error: true });
    }
  };

  const deleteSelected = async () => {
    setConfirming(false);
    if (res.status !== 'ready') return;
    const before = res.data;
    const ids = [...selected];
    update((ls) => ls.filter((l) => !selected.has(l.id)));
    try {
      const out = await api.deleteLists(ids);
      setSelected(new Set());
      setSelecting(false);
      const gone = out.not_found.length > 0 ? ` (${out.not_found.length} were already gone)` : '';
      say(`Deleted ${out.deleted.length} ${out.deleted.length === 1 ? 'list' : 'lists'}${gone}.`);
    } catch (e) {
      update(() => before);
      say(`Nothing was deleted: ${describeError(asApiError(e))}`, { error: true });
    }
  };

  const toggle = (id: string) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });

  return (
    <>
      <div className="page-head">
        <Heading>Your lists</Heading>
        {res.status === 'ready' && res.data.length > 0 && (
          <div className="toolbar">
            {selecting ? (
              <>
                <button type="button" className="danger" disabled={selected.size === 0} onClick={() => setConfirming(true)}>
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
              <button type="button" onClick={() => setSelecting(true)}>
                Select lists
              </button>
            )}
          </div>
        )}
      </div>
      <Notice notice={notice} />
      <CreateListForm />
      {res.status === 'loading' && <Loading what="Loading your lists…" />}
      {res.status === 'error' && <ErrorPanel error={res.error} onRetry={reload} title="Couldn't load your lists." />}
      {res.status === 'ready' && res.data.length === 0 && (
        <div className="empty">
          <p>No lists yet. Create your first one above — for example “Travel words”, English → Korean.</p>
        </div>
      )}
      {groups.map((g) => (
        <section key={g.key} aria-labelledby={`${g.key}-title`} className="list-group">
          <h2 id={`${g.key}-title`}>
            {g.lang ? <Lang tag={g.lang} /> : <><span aria-hidden="true">★ </span>{g.title}</>}
          </h2>
          <ul className="lists">
            {g.lists.map((l) => (
              <li key={l.id} className="list-card">
                {selecting && (
                  <input
                    type="checkbox"
                    className="select-box"
                    aria-label={`Select ${l.name}`}
                    checked={selected.has(l.id)}
                    onChange={() => toggle(l.id)}
                  />
                )}
                <button
                  type="button"
                  className={l.favorite ? 'star on' : 'star'}
                  aria-pressed={l.favorite}
                  aria-label={`Favourite: ${l.name}`}
                  title={l.favorite ? 'Remove from favourites' : 'Add to favourites'}
                  onClick={() => void toggleFavorite(l)}
                >
                  {l.favorite ? '★' : '☆'}
                </button>
                <div className="list-main">
                  <Link to={`/lists/${encodeURIComponent(l.id)}`} className="list-name">
                    {l.name}
                  </Link>
                  <span className="list-meta">
                    <LangPair from={l.source_lang} to={l.target_lang} /> <span>{counts(l)}</span>
                  </span>
                </div>
              </li>
            ))}
          </ul>
        </section>
      ))}
      {confirming && (
        <Confirm
          title={`Delete ${selected.size} ${selected.size === 1 ? 'list' : 'lists'}?`}
          message={<p>Their words go with them. This can't be undone.</p>}
          confirm="Delete"
          onConfirm={() => void deleteSelected()}
          onCancel={() => setConfirming(false)}
        />
      )}
    </>
  );
}
