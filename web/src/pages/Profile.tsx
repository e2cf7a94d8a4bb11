import { ErrorPanel, Loading } from '../components/ErrorPanel.tsx';
import { Avatar } from '../components/Header.tsx';
import { Heading } from '../components/Heading.tsx';
import type { User } from '../auth/session.ts';
import { useApp } from '../context.ts';
import { useResource } from '../hooks/useResource.ts';

export function Profile({ user }: { user: User }) {
  const { api, auth } = useApp();
  const { res, reload } = useResource((s) => api.me(s), [api]);
  const p = res.data;
  const answered = p ? p.answers_right + p.answers_wrong : 0;
  return (
    <>
      <Heading>Profile</Heading>
      <div className="card profile">
        <Avatar user={user} size={64} />
        <div>
          {user.name && <p className="profile-name">{user.name}</p>}
          <p>{user.email ?? user.id}</p>
          <button type="button" onClick={() => auth.signOut()}>
            Sign out
          </button>
        </div>
      </div>
      {res.status === 'loading' && <Loading what="Loading your numbers…" />}
      {res.status === 'error' && <ErrorPanel error={res.error} onRetry={reload} title="Couldn't load your profile." />}
      {p && (
        <dl className="stats-grid">
          <div>
            <dt>Lists</dt>
            <dd>{p.lists}</dd>
          </div>
          <div>
            <dt>Words</dt>
            <dd>{p.words}</dd>
          </div>
          <div>
            <dt>Learned</dt>
            <dd>{p.learned}</dd>
          </div>
          <div>
            <dt>Quizzes taken</dt>
            <dd>{p.quizzes_taken}</dd>
          </div>
          <div>
            <dt>Right answers</dt>
            <dd>
              {p.answers_right}
              {answered > 0 && <small> ({Math.round((100 * p.answers_right) / answered)}%)</small>}
            </dd>
          </div>
          <div>
            <dt>Member since</dt>
            <dd className="date">{new Date(p.created_at).toLocaleDateString('en', { year: 'numeric', month: 'short', day: 'numeric' })}</dd>
          </div>
        </dl>
      )}
    </>
  );
}
