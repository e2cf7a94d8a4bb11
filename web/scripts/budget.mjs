#!/usr/bin/env node
// The JS budget: the JavaScript the first page loads (the entry script index.html names and every
// module it preloads), gzipped, must stay within 150 KB. Prints the figure; exits 1 past it.
// Usage: node scripts/budget.mjs [dist-dir] [limit-bytes]

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

export const BUDGET_BYTES = 150 * 1024;

/** The scripts index.html makes the browser fetch before the first render. */
export function firstPageScripts(indexHtml) {
  const out = new Set();
  for (const m of indexHtml.matchAll(/<script\b[^>]*\bsrc="([^"]+)"[^>]*>/g)) out.add(m[1]);
  for (const m of indexHtml.matchAll(/<link\b[^>]*\brel="modulepreload"[^>]*>/g)) {
    const href = /\bhref="([^"]+)"/.exec(m[0]);
    if (href) out.add(href[1]);
  }
  return [...out].filter((s) => !/^(https?:)?\/\//.test(s));
}

/** Gzipped size of each first-page script (level 9, as a CDN compresses text). */
export function measure(dist) {
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const files = firstPageScripts(html).map((src) => {
    const body = readFileSync(join(dist, src.replace(/^\//, '')));
    return { src, bytes: body.length, gzip: gzipSync(body, { level: 9 }).length };
  });
  if (files.length === 0) throw new Error(`${dist}/index.html loads no script: is this a Vite build?`);
  return { files, gzip: files.reduce((a, f) => a + f.gzip, 0), bytes: files.reduce((a, f) => a + f.bytes, 0) };
}

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dist = process.argv[2] ?? 'dist';
  const limit = Number(process.argv[3] ?? BUDGET_BYTES);
  const r = measure(dist);
  for (const f of r.files) console.log(`  ${f.src}  ${kb(f.bytes)} → ${kb(f.gzip)} gzipped`);
  const line = `JS budget: first page loads ${kb(r.gzip)} of JavaScript gzipped (${kb(r.bytes)} raw); limit ${kb(limit)}`;
  if (r.gzip > limit) {
    console.error(`${line}: OVER BUDGET by ${kb(r.gzip - limit)}`);
    process.exit(1);
  }
  console.log(`${line}: ok`);
}
