import { useEffect, useState } from 'react';
import { useWaitUntil } from '../context.ts';

/** While a 429 is waited out (Retry-After), say so, counting down. */
export function RateLimitBanner() {
  const until = useWaitUntil();
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (until === null) return;
    const first = setTimeout(() => setNow(Date.now()), 0);
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      clearTimeout(first);
      clearInterval(t);
    };
  }, [until]);
  const left = until === null ? 0 : Math.max(0, Math.ceil((until - now) / 1000));
  return (
    <div className="banner-slot" role="status" aria-live="polite">
      {until !== null && (
        <p className="banner warn">
          The server asked us to slow down. Trying again in {left} s — nothing you typed is lost.
        </p>
      )}
    </div>
  );
}

/** The browser reports losing the network. */
export function OfflineBanner() {
  const [online, setOnline] = useState(typeof navigator === 'undefined' ? true : navigator.onLine);
  useEffect(() => {
    const on = () => setOnline(true);
    const off = () => setOnline(false);
    window.addEventListener('online', on);
    window.addEventListener('offline', off);
    return () => {
      window.removeEventListener('online', on);
      window.removeEventListener('offline', off);
    };
  }, []);
  if (online) return null;
  return (
    <p className="banner warn" role="status">
      You're offline. Changes can't be saved until the connection is back.
    </p>
  );
}
