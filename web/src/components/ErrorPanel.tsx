import { useEffect, useState } from 'react';
import type { ApiError } from '../api/client.ts';
import { Link } from './Link.tsx';

/** The sentence a person reads for each API outcome (CONTRACTS / vocab-api README errors). */
export function describeError(e: ApiError): string {
  switch (e.kind) {
    case 'offline':
      return "Can't reach the server. Check your connection; this will load again when you're back online.";
    case 'server':
      return `The server had a problem (HTTP ${e.status}). Nothing was lost; try again.`;
    case 'rate_limited':
      return e.retryAfter != null
        ? `Too many requests. Try again in ${e.retryAfter} s.`
        : 'Too many requests. Wait a moment and try again.';
    case 'too_large':
      return "That's more than the server takes in one request (256 KB). Split it into smaller parts.";
    case 'not_found':
      return 'Not found. It may have been deleted.';
    case 'unauthorized':
      return "You're signed out. Sign in again to continue.";
    case 'invalid':
      return e.field ? `${e.field}: ${e.message}` : e.message;
    case 'conflict':
      return e.message;
    default:
      return e.status > 0 ? `Unexpected answer (HTTP ${e.status}): ${e.message}` : e.message;
  }
}

/** Seconds left before a retry makes sense (429 with Retry-After), counting down. */
function useRetryCountdown(e: ApiError): number {
  const [left, setLeft] = useState(e.kind === 'rate_limited' && e.retryAfter ? e.retryAfter : 0);
  useEffect(() => {
    if (left <= 0) return;
    const t = setTimeout(() => setLeft((s) => s - 1), 1000);
    return () => clearTimeout(t);
  }, [left]);
  return left;
}

interface Props {
  error: ApiError;
  onRetry?: () => void;
  /** What failed, e.g. "Couldn't load your lists." */
  title?: string;
}

/** A failed load or action: what happened, and what can be done (retry, go home). */
export function ErrorPanel({ error, onRetry, title }: Props) {
  const left = useRetryCountdown(error);
  const retryable = ['offline', 'server', 'rate_limited', 'other'].includes(error.kind);
  const text =
    error.kind === 'rate_limited' && left > 0 ? `Too many requests. Try again in ${left} s.` : describeError(error);
  return (
    <div className="error-panel" role="alert">
      {title && <p className="error-title">{title}</p>}
      {/* A title about a missing thing already says all there is to say. */}
      {!(title && error.kind === 'not_found') && <p>{text}</p>}
      {retryable && onRetry && (
        <button type="button" onClick={onRetry} disabled={left > 0}>
          {left > 0 ? `Retry in ${left} s` : 'Retry'}
        </button>
      )}
      {error.kind === 'not_found' && <Link to="/">Back to your lists</Link>}
    </div>
  );
}

export function Loading({ what = 'Loading…' }: { what?: string }) {
  return (
    <p className="loading" role="status">
      <span className="spinner" aria-hidden="true" />
      {what}
    </p>
  );
}
