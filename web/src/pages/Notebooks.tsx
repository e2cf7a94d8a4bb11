import { ErrorPanel, Loading } from '../components/ErrorPanel.tsx';
import { Heading } from '../components/Heading.tsx';
import { LangPair } from '../components/Lang.tsx';
import { Link } from '../components/Link.tsx';
import { useApp } from '../context.ts';
import { useResource } from '../hooks/useResource.ts';

/** Every list's notebook that has words in it. */
export function Notebooks() {
  const { api } = useApp();
  const { res, reload } = useResource((s) => api.notebooks(s).then((r) => r.items), [api]);
  return (
    <>
      <Heading>
        Notebooks <span lang="ko">(오답 노트)</span>
      </Heading>
      <p className="hint">Words you missed in quizzes, or put aside by hand, per list.</p>
      {res.status === 'loading' && <Loading what="Loading notebooks…" />}
      {res.status === 'error' && <ErrorPanel error={res.error} onRetry={reload} title="Couldn't load the notebooks." />}
      {res.status === 'ready' && res.data.length === 0 && <p className="empty">Every notebook is empty. Take a quiz, and missed words will show up here.</p>}
      {res.status === 'ready' && res.data.length > 0 && (
        <ul className="lists">
          {res.data.map(({ list, count }) => (
            <li key={list.id} className="list-card">
              <div className="list-main">
                <Link to={`/lists/${encodeURIComponent(list.id)}/notebook`} className="list-name">
                  {list.name}
                </Link>
                <span className="list-meta">
                  <LangPair from={list.source_lang} to={list.target_lang} /> <span>{count} {count === 1 ? 'word' : 'words'} to review</span>
                </span>
              </div>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
