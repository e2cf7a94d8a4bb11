// The one typed client of the vocab API. Every call goes through `request`, which turns each
// outcome into either a value or an ApiError with a `kind` the screens switch on, asks the
// sign-in layer to sign in again on 401 (then repeats the call), waits out 429s for as long as
// Retry-After says, and tells telemetry about every failure the browser saw.

import type {
  BatchDeleteResult,
  ClientEvent,
  Direction,
  NewWord,
  NotebookSummary,
  Page,
  Profile,
  Quiz,
  QuizMode,
  QuizResult,
  Word,
  WordList,
  WordPatch,
  WordQuery,
} from './types.ts';

/** What a screen needs to know about a failure to show the right state. */
export type ErrorKind =
  | 'offline' // no answer at all: network down, DNS, CORS, timeout
  | 'invalid' // 400: `field` names the field when one is at fault
  | 'unauthorized' // 401 and the user did not sign in again
  | 'not_found' // 404: missing or someone else's
  | 'conflict' // 409: e.g. a quiz submitted twice
  | 'too_large' // 413
  | 'rate_limited' // 429 after waiting as long as we are willing to
  | 'server' // 5xx
  | 'other';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | null;
  /** Seconds the server asked us to wait (429), when it said. */
  readonly retryAfter: number | null;

  constructor(status: number, code: string, message: string, field: string | null = null, retryAfter: number | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
  }

  get kind(): ErrorKind {
    const s = this.status;
    if (s === 0) return 'offline';
    if (s === 400) return 'invalid';
    if (s === 401) return 'unauthorized';
    if (s === 404) return 'not_found';
    if (s === 409) return 'conflict';
    if (s === 413) return 'too_large';
    if (s === 429) return 'rate_limited';
    if (s >= 500) return 'server';
    return 'other';
  }
}

/** The sign-in layer, as the client sees it. */
export interface AuthBridge {
  /** Headers naming the caller (`Authorization: Bearer …` or `x-dev-user`); null when signed out. */
  headers(): Promise<Record<string, string> | null>;
  /**
   * Called on a 401. Resolves true once the user is signed in again (the call is then made
   * again), false when they are not (the call fails with kind `unauthorized`).
   */
  reauthenticate(): Promise<boolean>;
}

export interface FailureInfo {
  method: string;
  /** The route template, e.g. `/lists/{list_id}/words` (no ids, no query). */
  path: string;
  status: number;
  message: string;
}

export interface ClientHooks {
  /** Every failed call as the browser saw it (also the ones that are retried). */
  onFailure?: (f: FailureInfo) => void;
  /** A 429 is being waited out until this time (ms since epoch); null when the wait is over. */
  onWait?: (until: number | null) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Waits longer than this are not sat through: the screen says when to try again instead. */
export const MAX_AUTO_WAIT_S = 60;
const MAX_RATE_LIMIT_RETRIES = 3;
const TIMEOUT_MS = 30_000;

/** Seconds from a Retry-After header: delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value == null || value.trim() === '') return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

type Params = Record<string, string>;
type Query = Record<string, string | number | boolean | undefined>;

interface RequestOptions {
  params?: Params;
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /**
   * A call the user didn't make (telemetry): its failures are not reported, a 401 doesn't ask
   * anyone to sign in, a 429 isn't waited out here.
   */
  background?: boolean;
}

function fill(template: string, params: Params = {}): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = params[name];
    if (v === undefined) throw new Error(`missing path parameter ${name} for ${template}`);
    return encodeURIComponent(v);
  });
}

function queryString(query: Query = {}): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== '') qs.set(k, String(v));
  }
  const s = qs.toString();
  return s ? `?${s}` : '';
}

async function readError(res: Response): Promise<{ code: string; field: string | null; message: string }> {
  const fallback = { code: `http_${res.status}`, field: null, message: res.statusText || `HTTP ${res.status}` };
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    return fallback;
  }
  // The API's shape: {"error":{"code","field","message"}}.
  if (body && typeof body === 'object' && 'error' in body) {
    const e = (body as { error: unknown }).error;
    if (e && typeof e === 'object') {
      const { code, field, message } = e as Record<string, unknown>;
      return {
        code: typeof code === 'string' ? code : fallback.code,
        field: typeof field === 'string' ? field : null,
        message: typeof message === 'string' ? message : fallback.message,
      };
    }
  }
  // API Gateway's own answers (its JWT authorizer, throttling): {"message":"Unauthorized"}.
  if (body && typeof body === 'object' && 'message' in body) {
    const m = (body as { message: unknown }).message;
    if (typeof m === 'string') return { ...fallback, message: m };
  }
  return fallback;
}

function timeoutSignal(signal: AbortSignal | undefined): AbortSignal | undefined {
  if (typeof AbortSignal.timeout !== 'function') return signal;
  const t = AbortSignal.timeout(TIMEOUT_MS);
  if (!signal) return t;
  return typeof AbortSignal.any === 'function' ? AbortSignal.any([signal, t]) : signal;
}

export class ApiClient {
  private readonly base: string;
  private readonly auth: AuthBridge;
  private readonly hooks: ClientHooks;
  private readonly fetchImpl: typeof fetch;

  constructor(base: string, auth: AuthBridge, hooks: ClientHooks = {}, fetchImpl?: typeof fetch) {
    this.base = base.replace(/\/+$/, '');
    this.auth = auth;
    this.hooks = hooks;
    // Looked up at call time, so tests (and polyfills) that replace window.fetch are honoured.
    this.fetchImpl = fetchImpl ?? ((input, init) => fetch(input, init));
  }

  async request<T>(method: string, template: string, opts: RequestOptions = {}): Promise<T> {
    const url = this.base + fill(template, opts.params) + queryString(opts.query);
    const sleep = this.hooks.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const now = this.hooks.now ?? Date.now;
    let reauths = 0;
    let waits = 0;
    for (;;) {
      const who = await this.auth.headers();
      const headers: Record<string, string> = { accept: 'application/json', ...(who ?? {}) };
      if (opts.body !== undefined) headers['content-type'] = 'application/json';
      let res: Response;
      try {
        res = await this.fetchImpl(url, {
          method,
          headers,
          body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
          signal: timeoutSignal(opts.signal),
        });
      } catch (e) {
        if (opts.signal?.aborted) throw e;
        const err = new ApiError(0, 'network', navigator.onLine === false ? 'You are offline.' : 'The server could not be reached.');
        this.report(method, template, 0, String((e as Error)?.message ?? e), opts);
        throw err;
      }
      if (res.ok) {
        if (res.status === 204) return undefined as T;
        const text = await res.text();
        return (text ? JSON.parse(text) : undefined) as T;
      }
      const info = await readError(res);
      this.report(method, template, res.status, info.message, opts);
      if (res.status === 401 && !opts.background && reauths < 2) {
        reauths += 1;
        if (await this.auth.reauthenticate()) continue;
      }
      const retryAfter = res.status === 429 || res.status === 503 ? parseRetryAfter(res.headers.get('retry-after'), now()) : null;
      if (res.status === 429 && !opts.background && waits < MAX_RATE_LIMIT_RETRIES) {
        // A 429 means the request was not processed, so sending it again is safe for every method.
        const wait = retryAfter ?? 2 ** waits;
        if (wait <= MAX_AUTO_WAIT_S) {
          waits += 1;
          this.hooks.onWait?.(now() + wait * 1000);
          try {
            await sleep(wait * 1000);
          } finally {
            this.hooks.onWait?.(null);
          }
          continue;
        }
      }
      throw new ApiError(res.status, info.code, info.message, info.field, retryAfter);
    }
  }

  private report(method: string, path: string, status: number, message: string, opts: RequestOptions): void {
    if (!opts.background) this.hooks.onFailure?.({ method, path, status, message });
  }

  // ---- lists ----
  listLists(cursor?: string, signal?: AbortSignal): Promise<Page<WordList>> {
    return this.request('GET', '/lists', { query: { limit: 100, cursor }, signal });
  }
  async allLists(signal?: AbortSignal): Promise<WordList[]> {
    return collect((c) => this.listLists(c, signal));
  }
  getList(id: string, signal?: AbortSignal): Promise<WordList> {
    return this.request('GET', '/lists/{list_id}', { params: { list_id: id }, signal });
  }
  createList(body: { name: string; source_lang: string; target_lang: string; favorite?: boolean }): Promise<WordList> {
    return this.request('POST', '/lists', { body });
  }
  updateList(id: string, patch: { name?: string; favorite?: boolean }): Promise<WordList> {
    return this.request('PATCH', '/lists/{list_id}', { params: { list_id: id }, body: patch });
  }
  deleteList(id: string): Promise<void> {
    return this.request('DELETE', '/lists/{list_id}', { params: { list_id: id } });
  }
  deleteLists(ids: string[]): Promise<BatchDeleteResult> {
    return this.request('POST', '/lists/batch-delete', { body: { ids } });
  }

  // ---- words ----
  listWords(listId: string, query: WordQuery = {}, signal?: AbortSignal): Promise<Page<Word>> {
    return this.request('GET', '/lists/{list_id}/words', {
      params: { list_id: listId },
      query: { limit: 100, ...query },
      signal,
    });
  }
  async allWords(listId: string, query: Omit<WordQuery, 'cursor' | 'limit'> = {}, signal?: AbortSignal): Promise<Word[]> {
    return collect((cursor) => this.listWords(listId, { ...query, cursor }, signal));
  }
  addWord(listId: string, word: NewWord): Promise<Word> {
    return this.request('POST', '/lists/{list_id}/words', { params: { list_id: listId }, body: word });
  }
  addWords(listId: string, items: NewWord[]): Promise<{ items: Word[]; count: number }> {
    return this.request('POST', '/lists/{list_id}/words', { params: { list_id: listId }, body: { items } });
  }
  updateWord(listId: string, wordId: string, patch: WordPatch): Promise<Word> {
    return this.request('PATCH', '/lists/{list_id}/words/{word_id}', {
      params: { list_id: listId, word_id: wordId },
      body: patch,
    });
  }
  deleteWord(listId: string, wordId: string): Promise<void> {
    return this.request('DELETE', '/lists/{list_id}/words/{word_id}', { params: { list_id: listId, word_id: wordId } });
  }
  deleteWords(listId: string, ids: string[]): Promise<BatchDeleteResult> {
    return this.request('POST', '/lists/{list_id}/words/batch-delete', { params: { list_id: listId }, body: { ids } });
  }
  review(listId: string, signal?: AbortSignal): Promise<Page<Word>> {
    return this.request('GET', '/lists/{list_id}/review', { params: { list_id: listId }, query: { limit: 100 }, signal });
  }

  // ---- incorrect-answers notebook ----
  notebook(listId: string, cursor?: string, signal?: AbortSignal): Promise<Page<Word>> {
    return this.request('GET', '/lists/{list_id}/notebook', {
      params: { list_id: listId },
      query: { limit: 100, cursor },
      signal,
    });
  }
  async allNotebook(listId: string, signal?: AbortSignal): Promise<Word[]> {
    return collect((c) => this.notebook(listId, c, signal));
  }
  addToNotebook(listId: string, wordId: string): Promise<Word> {
    return this.request('PUT', '/lists/{list_id}/notebook/{word_id}', { params: { list_id: listId, word_id: wordId } });
  }
  removeFromNotebook(listId: string, wordId: string): Promise<void> {
    return this.request('DELETE', '/lists/{list_id}/notebook/{word_id}', { params: { list_id: listId, word_id: wordId } });
  }
  notebooks(signal?: AbortSignal): Promise<{ items: NotebookSummary[] }> {
    return this.request('GET', '/notebooks', { signal });
  }

  // ---- quizzes ----
  createQuiz(listId: string, body: { count: number; mode: QuizMode; direction: Direction }): Promise<Quiz> {
    return this.request('POST', '/lists/{list_id}/quizzes', { params: { list_id: listId }, body });
  }
  submitQuiz(quizId: string, answers: { word_id: string; answer: string }[]): Promise<QuizResult> {
    return this.request('POST', '/quizzes/{quiz_id}/answers', { params: { quiz_id: quizId }, body: { answers } });
  }

  // ---- profile, telemetry ----
  me(signal?: AbortSignal): Promise<Profile> {
    return this.request('GET', '/me', { signal });
  }
  sendClientEvents(events: ClientEvent[], keepalive = false): Promise<{ accepted: number }> {
    if (keepalive) {
      // A page being closed: fetch with keepalive survives the unload (sendBeacon can't send
      // the Authorization header). Fire and forget.
      return this.auth.headers().then((who) => {
        if (!who) return { accepted: 0 };
        void this.fetchImpl(`${this.base}/client-events`, {
          method: 'POST',
          keepalive: true,
          headers: { 'content-type': 'application/json', ...who },
          body: JSON.stringify({ events }),
        }).catch(() => undefined);
        return { accepted: events.length };
      });
    }
    return this.request('POST', '/client-events', { body: { events }, background: true });
  }
}

/** Follows `next_cursor` until the last page. */
async function collect<T>(page: (cursor?: string) => Promise<Page<T>>): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  for (;;) {
    const p = await page(cursor);
    out.push(...p.items);
    if (!p.next_cursor) return out;
    cursor = p.next_cursor;
  }
}
