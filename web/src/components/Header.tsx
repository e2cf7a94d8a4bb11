import type { User } from '../auth/session.ts';
import { useApp } from '../context.ts';
import { Link } from './Link.tsx';

export function Avatar({ user, size = 32 }: { user: User; size?: number }) {
  const label = user.email ?? user.name ?? user.id;
  if (user.picture) {
    // The picture is Google's; no referrer, so Google doesn't learn which app page showed it.
    return <img className="avatar" src={user.picture} alt="" width={size} height={size} referrerPolicy="no-referrer" />;
  }
  return (
    <span className="avatar initials" aria-hidden="true" style={{ width: size, height: size }}>
      {[...label][0]?.toUpperCase()}
    </span>
  );
}

export function Header({ user, current }: { user: User; current: string }) {
  const { auth } = useApp();
  const nav = [
    { to: '/', label: 'Lists', match: (p: string) => p === '/' || p.startsWith('/lists/') },
    { to: '/notebooks', label: 'Notebooks', ko: '오답 노트', match: (p: string) => p === '/notebooks' },
    { to: '/me', label: 'Profile', match: (p: string) => p === '/me' },
  ];
  return (
    <header className="app-header">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Link to="/" className="brand">
        <span aria-hidden="true">🧠</span> Remember Me
      </Link>
      <nav aria-label="Main">
        <ul>
          {nav.map((n) => (
            <li key={n.to}>
              <Link to={n.to} aria-current={n.match(current) ? 'page' : undefined}>
                {n.label}
                {n.ko && (
                  <span lang="ko" className="ko-label">
                    {' '}
                    {n.ko}
                  </span>
                )}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <div className="user">
        <Avatar user={user} />
        <span className="user-name" data-testid="user-email">
          {user.email ?? user.id}
        </span>
        <button type="button" className="link-button" onClick={() => auth.signOut()}>
          Sign out
        </button>
      </div>
    </header>
  );
}
