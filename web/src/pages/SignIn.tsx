import { useState, type FormEvent } from 'react';
import { Modal } from '../components/Modal.tsx';
import { useApp } from '../context.ts';
import { blockImeEnter } from '../lib/ime.ts';

/** "Sign in as" — only when /config.json says `dev` (vocab-local trusts the x-dev-user header). */
export function DevSignInForm({ initial = '', onDone }: { initial?: string; onDone?: () => void }) {
  const { auth } = useApp();
  const [id, setId] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const err = auth.signInAs(id);
    setError(err);
    if (!err) onDone?.();
  };
  return (
    <form onSubmit={submit} onKeyDownCapture={blockImeEnter} className="stack" noValidate>
      <label htmlFor="dev-user">User id</label>
      <input
        id="dev-user"
        name="user"
        autoComplete="username"
        value={id}
        onChange={(e) => setId(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? 'dev-user-error' : 'dev-user-hint'}
        required
      />
      {error ? (
        <p id="dev-user-error" className="field-error">
          {error}
        </p>
      ) : (
        <p id="dev-user-hint" className="hint">
          Development mode: any id signs in as that user.
        </p>
      )}
      <button type="submit" className="primary">
        Sign in
      </button>
    </form>
  );
}

export function SignInPage({ error }: { error?: string }) {
  const { config, auth } = useApp();
  return (
    <main id="main" className="sign-in">
      <div className="card sign-in-card">
        <h1>
          <span aria-hidden="true">🧠</span> Remember Me
        </h1>
        <p className="tagline">Your word lists, flashcards and quizzes — English, Korean and more.</p>
        {error && (
          <p className="error-panel" role="alert">
            {error}
          </p>
        )}
        {config.auth.mode === 'dev' ? (
          <>
            <h2>Sign in as</h2>
            <DevSignInForm />
          </>
        ) : (
          <button type="button" className="google" onClick={() => void auth.startSignIn()}>
            <svg aria-hidden="true" width="18" height="18" viewBox="0 0 48 48">
              <path fill="#EA4335" d="M24 9.5c3.5 0 6.6 1.2 9.1 3.6l6.8-6.8C35.8 2.4 30.3 0 24 0 14.6 0 6.6 5.4 2.7 13.3l7.9 6.1C12.5 13.6 17.8 9.5 24 9.5z" />
              <path fill="#4285F4" d="M46.1 24.6c0-1.6-.1-3.1-.4-4.6H24v9h12.4c-.5 2.9-2.2 5.3-4.6 6.9l7.4 5.7c4.3-4 6.9-9.9 6.9-17z" />
              <path fill="#FBBC05" d="M10.6 28.6c-.5-1.4-.8-3-.8-4.6s.3-3.2.8-4.6l-7.9-6.1C1 16.6 0 20.2 0 24s1 7.4 2.7 10.7l7.9-6.1z" />
              <path fill="#34A853" d="M24 48c6.5 0 11.9-2.1 15.9-5.8l-7.4-5.7c-2.1 1.4-4.8 2.3-8.5 2.3-6.2 0-11.5-4.1-13.4-9.9l-7.9 6.1C6.6 42.6 14.6 48 24 48z" />
            </svg>
            Sign in with Google
          </button>
        )}
      </div>
    </main>
  );
}

/** The API said 401: sign in again over the page, so what was typed stays where it is. */
export function ExpiredDialog({ userId }: { userId: string }) {
  const { config, auth } = useApp();
  return (
    <Modal title="Your session has ended">
      <p>Sign in again to continue. What you typed is kept.</p>
      {config.auth.mode === 'dev' ? (
        <DevSignInForm initial={userId} />
      ) : (
        <button type="button" className="primary" data-autofocus onClick={() => void auth.startSignIn()}>
          Sign in again
        </button>
      )}
      <p>
        <button type="button" className="link-button" onClick={() => auth.signOut()}>
          Sign out instead
        </button>
      </p>
    </Modal>
  );
}
