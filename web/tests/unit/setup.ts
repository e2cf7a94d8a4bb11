import '@testing-library/jest-dom/vitest';
import { cleanup, configure } from '@testing-library/react';
import { afterEach } from 'vitest';
import { clearAllDrafts } from '../../src/lib/drafts.ts';

// The machine is shared and slow at times: wait longer than the default second for the DOM.
configure({ asyncUtilTimeout: 5000 });

afterEach(() => {
  cleanup();
  clearAllDrafts();
  sessionStorage.clear();
  localStorage.clear();
  history.replaceState(null, '', '/');
});
