// Processes the browser tests run against: moto's server (DynamoDB + Cognito) and the real
// vocab-local serving the built app and the API on one origin. Each is started on a free
// loopback port and stopped by its own PID.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

export const WEB_DIR = resolve(import.meta.dirname, '../../..');
export const REPO_DIR = resolve(WEB_DIR, '..');

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? ok(a.port) : fail(new Error('no port'))));
    });
  });
}

export async function waitHttp(url: string, what: string, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      await fetch(url);
      return;
    } catch {
      if (Date.now() > until) throw new Error(`${what} did not answer at ${url} within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export interface Proc {
  child: ChildProcess;
  /** stdout, one entry per line, as it arrives. */
  lines: string[];
  stderr: string[];
  stop(): Promise<void>;
}

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  // Never outlive the test process, whatever way it ends.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.removeListener('exit', reap));
  const lines: string[] = [];
  const stderr: string[] = [];
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  let errPartial = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    // Unbuffered stderr arrives in pieces: keep whole lines only.
    const parts = (errPartial + d).split('\n');
    errPartial = parts.pop() ?? '';
    stderr.push(...parts.filter(Boolean));
  });
  return {
    child,
    lines,
    stderr,
    stop: () =>
      new Promise<void>((ok) => {
        if (child.exitCode !== null || child.signalCode !== null) return ok();
        child.once('exit', () => ok());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

/** libfaketime, for moving vocab-local's clock (Debian package `faketime`). */
export function libfaketime(): string | null {
  for (const base of ['/usr/lib', '/usr/lib64']) {
    if (!existsSync(base)) continue;
    for (const d of readdirSync(base)) {
      const p = join(base, d, 'faketime', 'libfaketime.so.1');
      if (existsSync(p)) return p;
    }
    const direct = join(base, 'faketime', 'libfaketime.so.1');
    if (existsSync(direct)) return direct;
  }
  return null;
}

/** A clock offset file for libfaketime: write "+2h", "+0"… and vocab-local sees it at once. */
export class Clock {
  constructor(readonly file: string) {
    this.set('+0');
  }
  set(offset: string): void {
    writeFileSync(this.file, `${offset}\n`);
  }
}

export interface VocabLocal {
  url: string;
  proc: Proc;
  /** vocab-local's JSON log lines so far, parsed. */
  logs(): Record<string, unknown>[];
  stop(): Promise<void>;
}

export interface VocabLocalOptions {
  table: string;
  /** A fixed port (when the URL must be known before start); else any free one. */
  port?: number;
  args?: string[];
  env?: NodeJS.ProcessEnv;
}

export async function startVocabLocal(opts: VocabLocalOptions): Promise<VocabLocal> {
  const bin = process.env.VOCAB_LOCAL_BIN ?? join(REPO_DIR, 'target', 'debug', 'vocab-local');
  const moto = process.env.MOTO_URL;
  if (!moto) throw new Error('MOTO_URL is not set (the global setup starts moto)');
  const dist = process.env.VOCAB_WEB_DIST ?? join(WEB_DIR, 'dist');
  const proc = run(bin, ['--addr', `127.0.0.1:${opts.port ?? 0}`, '--web', dist, ...(opts.args ?? [])], {
    DYNAMODB_ENDPOINT: moto,
    VOCAB_TABLE: opts.table,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
    RUST_LOG: 'warn,vocab_api=info',
    ...opts.env,
  });
  const until = Date.now() + 60_000;
  let url: string | null = null;
  while (!url) {
    const m = proc.stderr.map((l) => /vocab-local: (http:\/\/[\d.]+:\d+)/.exec(l)).find(Boolean);
    if (m) url = m[1] as string;
    else if (proc.child.exitCode !== null) throw new Error(`vocab-local exited (${proc.child.exitCode}): ${proc.stderr.join('\n')}`);
    else if (Date.now() > until) {
      await proc.stop();
      throw new Error(`vocab-local did not start within 60 s: ${proc.stderr.join('\n')}`);
    } else await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    proc,
    logs: () =>
      proc.lines.flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    stop: () => proc.stop(),
  };
}
