import { useEffect, useRef, type ReactNode } from 'react';
import { consumeFocusRequest } from '../lib/focus.ts';

/**
 * A page or section heading that takes focus when the user navigated to it, so keyboard and
 * screen-reader users start at the new content (not at the top of the document again).
 */
export function Heading({ level = 1, children, id, focus = false }: { level?: 1 | 2; children: ReactNode; id?: string; focus?: boolean }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    // `focus`: the heading is the result of an action (a quiz's score), so it always takes focus.
    if (ref.current && (consumeFocusRequest() || focus)) ref.current.focus();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  const H = level === 1 ? 'h1' : 'h2';
  return (
    <H ref={ref} tabIndex={-1} id={id} className="focus-target">
      {children}
    </H>
  );
}
