import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { ApiError } from '../api/client.ts';
import type { Direction, Quiz, QuizMode, QuizResult } from '../api/types.ts';
import { ErrorPanel } from '../components/ErrorPanel.tsx';
import { Heading } from '../components/Heading.tsx';
import { Link } from '../components/Link.tsx';
import { useApp } from '../context.ts';
import { asApiError } from '../hooks/useResource.ts';
import { useDraft } from '../lib/drafts.ts';
import { blockImeEnter } from '../lib/ime.ts';
import type { ListContext } from './ListLayout.tsx';

/** The quiz in progress: kept as a draft, so signing in again mid-quiz loses no answer. */
interface Running {
  quiz: Quiz;
  index: number;
  answers: Record<string, string>;
}

function Setup({ list, onStart }: ListContext & { onStart: (q: Quiz) => void }) {
  const { api } = useApp();
  const [mode, setMode] = useState<QuizMode>('choice');
  const [direction, setDirection] = useState<Direction>('word_to_meaning');
  const [count, setCount] = useState(10);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onStart(await api.createQuiz(list.id, { count, mode, direction }));
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };
  const countError = error?.kind === 'invalid' && error.field === 'count' ? error.message : null;
  return (
    <form className="card quiz-setup" onSubmit={submit} noValidate>
      <fieldset>
        <legend>Answer by</legend>
        <label className="check">
          <input type="radio" name="mode" value="choice" checked={mode === 'choice'} onChange={() => setMode('choice')} />
          Choosing (multiple choice)
        </label>
        <label className="check">
          <input type="radio" name="mode" value="typed" checked={mode === 'typed'} onChange={() => setMode('typed')} />
          Typing the answer
        </label>
      </fieldset>
      <fieldset>
        <legend>Direction</legend>
        <label className="check">
          <input type="radio" name="direction" checked={direction === 'word_to_meaning'} onChange={() => setDirection('word_to_meaning')} />
          Word → meaning
        </label>
        <label className="check">
          <input type="radio" name="direction" checked={direction === 'meaning_to_word'} onChange={() => setDirection('meaning_to_word')} />
          Meaning → word
        </label>
      </fieldset>
      <div className="field">
        <label htmlFor="quiz-count">Questions (1–50)</label>
        <input
          id="quiz-count"
          type="number"
          min={1}
          max={50}
          value={count}
          onChange={(e) => setCount(Number(e.target.value))}
          aria-invalid={countError ? true : undefined}
          aria-describedby={countError ? 'quiz-count-error' : undefined}
        />
        {countError && (
          <p id="quiz-count-error" className="field-error">
            {countError}
          </p>
        )}
      </div>
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Preparing…' : 'Start quiz'}
      </button>
      {error && !countError && (
        <ErrorPanel
          error={error}
          title={error.code === 'empty_list' ? 'This list has no words yet: add some first.' : "The quiz couldn't start."}
        />
      )}
    </form>
  );
}

function Question({ list, run, setRun, onSubmit, busy }: ListContext & { run: Running; setRun: (r: Running) => void; onSubmit: () => void; busy: boolean }) {
  const q = run.quiz.questions[run.index];
  const inputRef = useRef<HTMLInputElement>(null);
  const promptRef = useRef<HTMLParagraphElement>(null);
  const last = run.index === run.quiz.questions.length - 1;
  const promptLang = run.quiz.direction === 'word_to_meaning' ? list.source_lang : list.target_lang;
  const answerLang = run.quiz.direction === 'word_to_meaning' ? list.target_lang : list.source_lang;

  useEffect(() => {
    // Each new question: focus its answer field (typed) or the prompt (choice).
    (inputRef.current ?? promptRef.current)?.focus();
  }, [run.index]);

  if (!q) return null;
  const value = run.answers[q.word_id] ?? '';
  const answer = (v: string) => setRun({ ...run, answers: { ...run.answers, [q.word_id]: v } });
  const next = (e: FormEvent) => {
    e.preventDefault();
    if (last) onSubmit();
    else setRun({ ...run, index: run.index + 1 });
  };
  return (
    <form className="card question" onSubmit={next} onKeyDownCapture={blockImeEnter} noValidate>
      <p className="progress">
        Question {run.index + 1} of {run.quiz.questions.length}
      </p>
      <p className="prompt" lang={promptLang} ref={promptRef} tabIndex={-1} id="quiz-prompt">
        {q.prompt}
      </p>
      {run.quiz.mode === 'typed' ? (
        <div className="field">
          <label htmlFor="quiz-answer">Your answer</label>
          <input
            id="quiz-answer"
            ref={inputRef}
            lang={answerLang}
            autoComplete="off"
            autoCapitalize="off"
            spellCheck={false}
            value={value}
            onChange={(e) => answer(e.target.value)}
          />
        </div>
      ) : (
        <fieldset className="choices" aria-describedby="quiz-prompt">
          <legend>Choose the answer</legend>
          {(q.choices ?? []).map((c, i) => (
            <label key={`${i}-${c}`} className="choice" lang={answerLang}>
              <input type="radio" name={`q-${q.word_id}`} value={c} checked={value === c} onChange={() => answer(c)} />
              {c}
            </label>
          ))}
        </fieldset>
      )}
      <div className="actions">
        <button type="button" disabled={run.index === 0} onClick={() => setRun({ ...run, index: run.index - 1 })}>
          ← Previous
        </button>
        <button type="submit" className="primary" disabled={busy}>
          {last ? (busy ? 'Checking…' : 'Finish and check') : 'Next →'}
        </button>
      </div>
    </form>
  );
}

function Result({ list, result, onAgain }: ListContext & { result: QuizResult; onAgain: () => void }) {
  const missed = result.results.filter((r) => !r.correct);
  const base = `/lists/${encodeURIComponent(list.id)}`;
  return (
    <div className="quiz-result">
      <Heading level={2} id="quiz-score" focus>
        Score: {result.score} / {result.total}
      </Heading>
      {missed.length === 0 ? (
        <p>Every answer right. 🎉</p>
      ) : (
        <>
          <h3>Missed words</h3>
          <p>
            These went into the list's <Link to={`${base}/notebook`}>incorrect-answers notebook (오답 노트)</Link>.
          </p>
          <table className="results">
            <thead>
              <tr>
                <th scope="col">Question</th>
                <th scope="col">Your answer</th>
                <th scope="col">Answer</th>
              </tr>
            </thead>
            <tbody>
              {missed.map((r) => (
                <tr key={r.word_id}>
                  <td>{r.prompt}</td>
                  <td className="given">{r.given || <em>(no answer)</em>}</td>
                  <td>{r.expected}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <div className="actions">
        <button type="button" className="primary" onClick={onAgain}>
          Take another quiz
        </button>
        <Link to={`${base}/study?source=notebook`} className="button">
          Study the notebook
        </Link>
      </div>
    </div>
  );
}

export function QuizTab(ctx: ListContext) {
  const { list, refresh } = ctx;
  const { api } = useApp();
  const [run, setRun, clearRun] = useDraft<Running | null>(`quiz:${list.id}`, null);
  const [result, setResult] = useState<QuizResult | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async () => {
    if (!run) return;
    setBusy(true);
    setError(null);
    try {
      const answers = run.quiz.questions.map((q) => ({ word_id: q.word_id, answer: run.answers[q.word_id] ?? '' }));
      // The check (trim, spacing, case; Hangul as typed) is the API's: no copy of it here.
      const r = await api.submitQuiz(run.quiz.id, answers);
      clearRun();
      setResult(r);
      refresh();
    } catch (e) {
      const ae = asApiError(e);
      setError(ae);
      if (ae.kind === 'conflict' || ae.kind === 'not_found') clearRun();
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby={result ? 'quiz-score' : 'quiz-title'} className="quiz">
      {!result && (
        <Heading level={2} id="quiz-title">
          Quiz
        </Heading>
      )}
      {result ? (
        <Result {...ctx} result={result} onAgain={() => setResult(null)} />
      ) : run ? (
        <Question {...ctx} run={run} setRun={setRun} onSubmit={() => void submit()} busy={busy} />
      ) : (
        <Setup {...ctx} onStart={(q) => setRun({ quiz: q, index: 0, answers: {} })} />
      )}
      {error && (
        <ErrorPanel
          error={error}
          onRetry={run ? () => void submit() : undefined}
          title={error.kind === 'conflict' ? 'This quiz was already checked. Start a new one.' : 'The answers were not checked yet.'}
        />
      )}
    </section>
  );
}
