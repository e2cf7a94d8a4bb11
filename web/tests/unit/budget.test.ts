// The JS budget: ≤ 150 KB of gzipped JavaScript for the first page. The build runs the same
// check (scripts/budget.mjs) and fails past it; this test builds the app and holds it to it.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { build } from 'vite';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script, typed by use
import { BUDGET_BYTES, firstPageScripts, measure } from '../../scripts/budget.mjs';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'vocab-budget-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('the JS budget', () => {
  it('counts the entry script and every module it preloads, not lazy chunks', () => {
    const html = `<script type="module" crossorigin src="/assets/index-a.js"></script>
      <link rel="modulepreload" crossorigin href="/assets/vendor-b.js"><link rel="stylesheet" href="/assets/x.css">`;
    expect(firstPageScripts(html)).toEqual(['/assets/index-a.js', '/assets/vendor-b.js']);
  });

  it('fails the build check past 150 KB gzipped, printing the size', () => {
    const dist = tmp();
    mkdirSync(join(dist, 'assets'));
    // Random bytes don't compress: 160 KB stays 160 KB.
    writeFileSync(join(dist, 'assets', 'big.js'), randomBytes(160 * 1024));
    writeFileSync(join(dist, 'index.html'), '<script type="module" src="/assets/big.js"></script>');
    let out = '';
    let code = 0;
    try {
      execFileSync(process.execPath, ['scripts/budget.mjs', dist], { stdio: 'pipe' });
    } catch (e) {
      const err = e as { status: number; stderr: Buffer };
      code = err.status;
      out = err.stderr.toString();
    }
    expect(code).toBe(1);
    expect(out).toMatch(/JS budget: first page loads [\d.]+ KB of JavaScript gzipped .* OVER BUDGET/);
  });

  it('holds the real app within 150 KB gzipped on its first page', async () => {
    const outDir = tmp();
    await build({ root: process.cwd(), logLevel: 'silent', build: { outDir, emptyOutDir: true, sourcemap: false } });
    const r = measure(outDir) as { gzip: number; files: { src: string }[] };
    expect(r.files.length).toBeGreaterThan(0);
    expect(r.gzip).toBeLessThanOrEqual(BUDGET_BYTES);
  });
});
