import { defineConfig } from 'vitest/config';

// `npm run dev` proxies the API and the runtime config to a running vocab-local
// (VOCAB_API, default http://127.0.0.1:3000), so the dev server behaves like one origin.
const api = process.env.VOCAB_API ?? 'http://127.0.0.1:3000';

export default defineConfig({
  // React's automatic JSX runtime, compiled by Vite's own transformer (no plugin needed).
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    // Browsers from the last few years; keeps the bundle free of old-syntax helpers.
    target: 'es2022',
    sourcemap: true,
  },
  server: {
    proxy: {
      '/api': api,
      '/config.json': api,
    },
  },
  test: {
    environment: 'jsdom',
    include: ['tests/unit/**/*.test.{ts,tsx}'],
    setupFiles: ['tests/unit/setup.ts'],
    restoreMocks: true,
    // Component tests click through whole flows; the machine is shared.
    testTimeout: 30_000,
  },
});
