import { useEffect, useState } from 'react';
import { RateLimitBanner, OfflineBanner } from './components/Banners.tsx';
import { ErrorBoundary } from './components/ErrorBoundary.tsx';
import { Loading } from './components/ErrorPanel.tsx';
import { Header } from './components/Header.tsx';
import { useApp, useAuthState } from './context.ts';
import { navigate, parseRoute, useLocation, type Route } from './lib/router.ts';
import { Home } from './pages/Home.tsx';
import { ListLayout } from './pages/ListLayout.tsx';
import { NotFound } from './pages/NotFound.tsx';
import { Notebooks } from './pages/Notebooks.tsx';
import { Profile } from './pages/Profile.tsx';
import { ExpiredDialog, SignInPage } from './pages/SignIn.tsx';
import type { User } from './auth/session.ts';
import { callbackPath } from './config.ts';

let exchanging = false;

/** The hosted UI sent the browser back with ?code&state: trade them for tokens once. */
function Callback() {
  const { auth } = useApp();
  const [msg] = useState('Signing in…');
  useEffect(() => {
    if (exchanging) return;
    exchanging = true;
    void auth.completeSignIn(location.search).then((to) => {
      exchanging = false;
      navigate(to, { replace: true });
    });
  }, [auth]);
  return (
    <main id="main">
      <Loading what={msg} />
    </main>
  );
}

function Page({ route, user }: { route: Route; user: User }) {
  switch (route.name) {
    case 'home':
      return <Home />;
    case 'list':
    case 'study':
    case 'quiz':
    case 'notebook':
      return <ListLayout key={route.id} id={route.id} tab={route.name} />;
    case 'notebooks':
      return <Notebooks />;
    case 'me':
      return <Profile user={user} />;
    default:
      return <NotFound />;
  }
}

export function App() {
  const { config } = useApp();
  const state = useAuthState();
  const loc = useLocation();
  const pathname = loc.split('?')[0] ?? '/';
  const route = parseRoute(pathname, callbackPath(config.auth.mode === 'cognito' ? config.auth.redirect_uri : undefined));

  if (route.name === 'callback' && config.auth.mode === 'cognito' && state.status !== 'signed_in') return <Callback />;
  if (state.status === 'working') {
    return (
      <main id="main" className="sign-in">
        <Loading what={state.message} />
      </main>
    );
  }
  if (state.status === 'signed_out') return <SignInPage error={state.error} />;
  const user = state.user;
  return (
    <>
      <Header user={user} current={pathname} />
      <RateLimitBanner />
      <OfflineBanner />
      <main id="main" tabIndex={-1}>
        <ErrorBoundary resetKey={pathname}>
          <Page route={route} user={user} />
        </ErrorBoundary>
      </main>
      {/* The page stays mounted under the dialog: nothing typed is lost. */}
      {state.status === 'expired' && <ExpiredDialog userId={user.id} />}
    </>
  );
}
