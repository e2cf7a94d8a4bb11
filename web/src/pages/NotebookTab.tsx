import type { Word } from '../api/types.ts';
import { ErrorPanel, Loading, describeError } from '../components/ErrorPanel.tsx';
import { Heading } from '../components/Heading.tsx';
import { Notice, useNotice } from '../components/Notice.tsx';
import { Link } from '../components/Link.tsx';
import { useApp } from '../context.ts';
import { asApiError, useResource } from '../hooks/useResource.ts';
import type { ListContext } from './ListLayout.tsx';

/** The list's incorrect-answers notebook (오답 노트): missed in a quiz, or added by hand. */
export function NotebookTab({ list, refresh }: ListContext) {
  const { api } = useApp();
  const { res, reload, update } = useResource<Word[]>((s) => api.allNotebook(list.id, s), [api, list.id]);
  const [notice, say] = useNotice();
  const base = `/lists/${encodeURIComponent(list.id)}`;

  const remove = async (w: Word) => {
    if (res.status !== 'ready') return;
    const before = res.data;
    update((ws) => ws.filter((x) => x.id !== w.id));
    try {
      await api.removeFromNotebook(list.id, w.id);
      say(`Removed “${w.word}” from the notebook.`);
      refresh();
    } catch (e) {
      update(() => before);
      say(`“${w.word}” is still in the notebook: ${describeError(asApiError(e))}`, { error: true });
    }
  };

  return (
    <section aria-labelledby="notebook-title" className="notebook">
      <div className="page-head">
        <Heading level={2} id="notebook-title">
          Incorrect-answers notebook <span lang="ko">(오답 노트)</span>
        </Heading>
        {res.status === 'ready' && res.data.length > 0 && (
          <div className="toolbar">
            <Link to={`${base}/study?source=notebook`} className="button">
              Study these
            </Link>
            <Link to={`${base}/study?source=notebook&hide=meaning&shuffle=1`} className="button">
              Test yourself
            </Link>
          </div>
        )}
      </div>
      <Notice notice={notice} />
      {res.status === 'loading' && <Loading what="Loading the notebook…" />}
      {res.status === 'error' && <ErrorPanel error={res.error} onRetry={reload} title="Couldn't load the notebook." />}
      {res.status === 'ready' && res.data.length === 0 && (
        <p className="empty">
          Nothing here. Words you answer wrongly in a <Link to={`${base}/quiz`}>quiz</Link> land here, and you can add any word from the{' '}
          <Link to={base}>word list</Link>.
        </p>
      )}
      {res.status === 'ready' && res.data.length > 0 && (
        <ul className="word-list" aria-label="Words in the notebook">
          {res.data.map((w) => (
            <li key={w.id} className="word-row" data-testid="notebook-row">
              <div className="word-text">
                <span className="word" lang={list.source_lang}>
                  {w.word}
                </span>
                <span className="meaning" lang={list.target_lang}>
                  {w.meaning}
                </span>
                {w.memo && <span className="memo">{w.memo}</span>}
                <span className="stats" aria-label={`${w.wrong_count} wrong answers`}>
                  ✗{w.wrong_count}
                </span>
              </div>
              <div className="word-actions">
                <button type="button" onClick={() => void remove(w)} aria-label={`Remove ${w.word} from the notebook`}>
                  Remove
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
