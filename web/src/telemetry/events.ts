// The app's own failures and timings, sent to `POST /api/client-events` (CONTRACTS.md section A),
// so they reach Elasticsearch through the same pipeline as the API's log lines.
// Batched: at most 20 events and 16 KiB per request, strings capped as the API caps them,
// sent a few seconds after the first event or when the page is hidden. Nothing is sent while
// nobody is signed in (the endpoint needs a caller); events wait, up to a bound.

import type { ClientEvent } from '../api/types.ts';

export const MAX_EVENTS_PER_REQUEST = 20;
export const MAX_BODY_BYTES = 16 * 1024;
const CAPS = { message: 1000, stack: 4000, other: 200 } as const;
const MAX_QUEUE = 100;
/** The same error over and over (a render loop) is sent this many times per page load. */
const MAX_REPEATS = 5;

export interface Sender {
  send(events: ClientEvent[], keepalive: boolean): Promise<{ accepted: number }>;
  ready(): boolean;
}

/** Truncates to `n` characters (code points), never splitting a surrogate pair. */
export function cap(s: string, n: number): string {
  if (s.length <= n) return s;
  let out = '';
  let count = 0;
  for (const ch of s) {
    if (count === n) break;
    out += ch;
    count += 1;
  }
  return out;
}

export function capEvent(e: ClientEvent): ClientEvent {
  const out: ClientEvent = { type: e.type, page: cap(e.page, CAPS.other) };
  if (e.message !== undefined) out.message = cap(e.message, CAPS.message);
  if (e.stack !== undefined) out.stack = cap(e.stack, CAPS.stack);
  if (e.error_type !== undefined) out.error_type = cap(e.error_type, CAPS.other);
  if (e.api_method !== undefined) out.api_method = cap(e.api_method, CAPS.other);
  if (e.api_path !== undefined) out.api_path = cap(e.api_path, CAPS.other);
  if (e.status !== undefined) out.status = e.status;
  // The API takes 0 to 3,600,000 ms; a page left loading longer than that is still "an hour".
  if (e.duration_ms !== undefined) out.duration_ms = Math.min(3_600_000, Math.max(0, Math.round(e.duration_ms)));
  return out;
}

const enc = new TextEncoder();
const bytes = (v: unknown): number => enc.encode(JSON.stringify(v)).length;

/** Takes from the front of `queue` the largest batch within both limits. */
export function takeBatch(queue: ClientEvent[]): ClientEvent[] {
  const batch: ClientEvent[] = [];
  let size = bytes({ events: [] });
  while (queue.length > 0 && batch.length < MAX_EVENTS_PER_REQUEST) {
    const next = queue[0] as ClientEvent;
    const s = bytes(next) + 1;
    if (batch.length > 0 && size + s > MAX_BODY_BYTES) break;
    batch.push(next);
    queue.shift();
    size += s;
  }
  return batch;
}

export class Telemetry {
  private queue: ClientEvent[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private sending = false;
  private stopped = false;
  private pausedUntil = 0;
  private readonly repeats = new Map<string, number>();
  private readonly sender: Sender;
  private readonly delayMs: number;

  constructor(sender: Sender, delayMs = 2000) {
    this.sender = sender;
    this.delayMs = delayMs;
  }

  record(e: ClientEvent): void {
    if (e.type === 'error') {
      const key = `${e.error_type}:${e.message}`;
      const n = (this.repeats.get(key) ?? 0) + 1;
      this.repeats.set(key, n);
      if (n > MAX_REPEATS) return;
    }
    this.queue.push(capEvent(e));
    if (this.queue.length > MAX_QUEUE) this.queue.splice(0, this.queue.length - MAX_QUEUE);
    this.schedule(this.delayMs);
  }

  /** Stops sending (tests; a page being torn down). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  pending(): number {
    return this.queue.length;
  }

  /** Call when someone signs in: what waited is sent. */
  wake(): void {
    if (this.queue.length > 0) this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.timer !== null || this.stopped) return;
    const wait = Math.max(ms, this.pausedUntil - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, wait);
  }

  /** Sends everything queued (one request per batch). `keepalive` for a page being hidden. */
  async flush(keepalive = false): Promise<void> {
    if (this.stopped || this.sending || !this.sender.ready() || Date.now() < this.pausedUntil) return;
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const batch = takeBatch(this.queue);
        try {
          await this.sender.send(batch, keepalive);
        } catch (e) {
          const status = (e as { status?: number }).status ?? 0;
          if (status === 429 || status === 0 || status >= 500) {
            // Not processed: keep the batch for later. On 429 wait as long as the API said.
            this.queue.unshift(...batch);
            const after = (e as { retryAfter?: number | null }).retryAfter;
            this.pausedUntil = Date.now() + (status === 429 ? (after ?? 30) : 30) * 1000;
            this.schedule(0);
          }
          // Anything else (400, 401, 413) would fail again the same way: the batch is dropped.
          return;
        }
      }
    } finally {
      this.sending = false;
    }
  }

  /** Uncaught errors and rejected promises of the page, and a final flush when it's hidden. */
  install(win: Window, page: () => string): () => void {
    const onError = (ev: ErrorEvent): void => {
      const err = ev.error as Error | undefined;
      this.record({
        type: 'error',
        page: page(),
        message: err?.message ?? ev.message ?? 'error',
        error_type: err?.name ?? 'Error',
        stack: err?.stack ?? (ev.filename ? `at ${ev.filename}:${ev.lineno}:${ev.colno}` : undefined),
      });
    };
    const onRejection = (ev: PromiseRejectionEvent): void => {
      const r = ev.reason as unknown;
      const err = r instanceof Error ? r : null;
      this.record({
        type: 'error',
        page: page(),
        message: err ? err.message : String(r),
        error_type: err ? err.name : 'UnhandledRejection',
        stack: err?.stack,
      });
    };
    const onHide = (): void => {
      if (win.document.visibilityState === 'hidden') void this.flush(true);
    };
    win.addEventListener('error', onError);
    win.addEventListener('unhandledrejection', onRejection);
    win.document.addEventListener('visibilitychange', onHide);
    return () => {
      win.removeEventListener('error', onError);
      win.removeEventListener('unhandledrejection', onRejection);
      win.document.removeEventListener('visibilitychange', onHide);
    };
  }

  /** The navigation's load time, once the load event has finished. */
  recordPageLoad(win: Window, page: string): void {
    const send = (): void => {
      const nav = win.performance?.getEntriesByType?.('navigation')[0] as PerformanceNavigationTiming | undefined;
      const ms = nav ? nav.loadEventEnd || nav.duration : win.performance.now();
      this.record({ type: 'page_load', page, duration_ms: ms });
    };
    // loadEventEnd is set only after the load handlers return, hence the extra turn.
    if (win.document.readyState === 'complete') setTimeout(send, 0);
    else win.addEventListener('load', () => setTimeout(send, 0), { once: true });
  }
}
