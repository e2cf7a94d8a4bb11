import { useEffect, useRef, type ReactNode } from 'react';
import { consumeFocusRequest } from '../lib/focus.ts';

/**
 * A page or section heading that takes focus when the user navigated to it, so keyboard and
 * screen-reader users start at the new content (not at the top of the document again).
 */
export function Heading({ level = 1, children, id }: { level?: 1 | 2; children: ReactNode; id?: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (ref.current && consumeFocusRequest()) ref.current.focus();
  }, []);
  const H = level === 1 ? 'h1' : 'h2';
  return (
    <H ref={ref} tabIndex={-1} id={id} className="focus-target">
      {children}
    </H>
  );
}
