import { useCallback, useEffect, useRef, useState } from 'react';

export interface NoticeState {
  text: string;
  error?: boolean;
  /** Move focus to the message: it is the result of what the user just did. */
  focus: boolean;
  /** Changes on every message, so the same text said twice is announced (and focused) again. */
  n: number;
}

export type Say = (text: string, opts?: { error?: boolean; focus?: boolean }) => void;

export function useNotice(): [NoticeState | null, Say] {
  const [notice, setNotice] = useState<NoticeState | null>(null);
  const say = useCallback<Say>((text, opts = {}) => {
    setNotice((old) => ({ text, error: opts.error, focus: opts.focus ?? true, n: (old?.n ?? 0) + 1 }));
  }, []);
  return [notice, say];
}

/** The outcome of an action, announced (status, or alert for a failure) and focused. */
export function Notice({ notice }: { notice: NoticeState | null }) {
  const ref = useRef<HTMLParagraphElement>(null);
  useEffect(() => {
    // After the commit, so the message is on screen when it takes focus.
    if (notice?.focus) ref.current?.focus();
  }, [notice]);
  return (
    <p ref={ref} tabIndex={-1} className={notice?.error ? 'notice error' : 'notice'} role={notice?.error ? 'alert' : 'status'}>
      {notice?.text}
    </p>
  );
}
