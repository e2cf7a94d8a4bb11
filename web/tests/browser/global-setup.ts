// Once per run: the built app (vite build + the JS budget), the vocab-local binary, and moto.
// Set VOCAB_WEB_DIST / VOCAB_LOCAL_BIN / MOTO_URL to use ones that already exist.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_DIR, WEB_DIR, freePort, run, waitHttp } from './support/env.ts';

export default async function globalSetup(): Promise<() => Promise<void>> {
  const t0 = Date.now();
  if (!process.env.VOCAB_WEB_DIST) {
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: WEB_DIR, stdio: 'inherit' });
    process.env.VOCAB_WEB_DIST = join(WEB_DIR, 'dist');
  }
  if (!process.env.VOCAB_LOCAL_BIN) {
    // Cheap when scripts/test has just built the workspace (same profile, same target dir).
    execFileSync('cargo', ['build', '--quiet', '-p', 'vocab-api', '--bin', 'vocab-local'], { cwd: REPO_DIR, stdio: 'inherit' });
    process.env.VOCAB_LOCAL_BIN = join(REPO_DIR, 'target', 'debug', 'vocab-local');
  }
  if (!existsSync(process.env.VOCAB_LOCAL_BIN)) throw new Error(`VOCAB_LOCAL_BIN=${process.env.VOCAB_LOCAL_BIN} does not exist`);
  let stopMoto = async () => {};
  if (!process.env.MOTO_URL) {
    const port = await freePort();
    const moto = run('moto_server', ['-H', '127.0.0.1', '-p', String(port)]);
    moto.child.on('error', (e) => console.error(`moto_server: ${e.message} (pip install "moto[server]")`));
    process.env.MOTO_URL = `http://127.0.0.1:${port}`;
    await waitHttp(`${process.env.MOTO_URL}/moto-api/`, 'moto');
    stopMoto = moto.stop;
  }
  console.log(`browser tests: app ${process.env.VOCAB_WEB_DIST}, vocab-local ${process.env.VOCAB_LOCAL_BIN}, moto ${process.env.MOTO_URL} (set up in ${Date.now() - t0} ms)`);
  return stopMoto;
}
