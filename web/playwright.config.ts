import { defineConfig } from '@playwright/test';

// Browser tests in Debian's Chromium (apt-get install chromium), never a downloaded browser:
// CHROMIUM_PATH overrides /usr/bin/chromium. The global setup builds the app, builds
// vocab-local and starts moto unless MOTO_URL is set (scripts/test sets it).
export default defineConfig({
  testDir: 'tests/browser',
  globalSetup: './tests/browser/global-setup.ts',
  outputDir: 'test-results',
  timeout: 90_000,
  expect: { timeout: 15_000 },
  // Two cores: one browser worker per core; each worker has its own vocab-local and table.
  workers: Number(process.env.WEB_TEST_WORKERS ?? 2),
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    viewport: { width: 1280, height: 800 },
    locale: 'en-US',
    timezoneId: 'UTC',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      // No background traffic: this machine's closed network refuses it, and tests must not
      // depend on the internet (Google's hosts included).
      args: ['--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
  },
});
