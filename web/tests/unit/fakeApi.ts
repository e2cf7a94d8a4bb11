// An in-memory vocab API behind a fake `fetch`, for component tests only. It answers as
// vocab-api/README.md and CONTRACTS.md section A say (shapes, status codes, error bodies), so
// the screens can be driven through every outcome; failures are injected per call. The browser
// tests run against the real vocab-local instead.

import type { Word, WordList } from '../../src/api/types.ts';

interface Injected {
  method: string;
  path: RegExp;
  times: number;
  /** `model` is what the in-memory API would answer. */
  respond: (model: () => Response) => Response | Promise<Response>;
}

export interface Call {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: unknown;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

export const apiError = (status: number, code: string, message: string, field: string | null = null, headers: Record<string, string> = {}) =>
  json(status, { error: { code, field, message } }, headers);

const norm = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();

let seq = 0;
const id = () => `00000000-0000-7000-8000-${String(++seq).padStart(12, '0')}`;
const now = () => new Date(Date.UTC(2026, 10, 25, 8, 0, seq)).toISOString();

export class FakeApi {
  readonly base: string;
  lists: WordList[] = [];
  words: Word[] = [];
  quizzes = new Map<string, { list_id: string; answers: Map<string, string>; submitted: boolean; owner: string }>();
  owners = new Map<string, string>();
  calls: Call[] = [];
  events: unknown[] = [];
  private injected: Injected[] = [];

  constructor(base = '/api') {
    this.base = base;
  }

  /** The next `times` calls matching answer `respond()` instead of the model. */
  inject(method: string, path: RegExp, respond: (model: () => Response) => Response | Promise<Response>, times = 1): void {
    this.injected.push({ method, path, times, respond });
  }

  failNext(method: string, path: RegExp, status: number, code = 'x', message = 'failed', field: string | null = null, headers: Record<string, string> = {}, times = 1): void {
    this.inject(method, path, () => apiError(status, code, message, field, headers), times);
  }

  /** The next matching call never gets an answer (network down). */
  offlineNext(method: string, path: RegExp, times = 1): void {
    this.inject(method, path, () => Promise.reject(new TypeError('Failed to fetch')), times);
  }

  /** The next matching call waits until the returned function is called. */
  hold(method: string, path: RegExp): () => void {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    this.inject(method, path, async (model) => {
      await gate;
      return model();
    });
    return () => release();
  }

  addList(owner: string, l: Partial<WordList> & { name: string }): WordList {
    const list: WordList = {
      id: id(),
      source_lang: 'en',
      target_lang: 'ko',
      word_count: 0,
      learned_count: 0,
      notebook_count: 0,
      favorite: false,
      created_at: now(),
      updated_at: now(),
      ...l,
    };
    this.lists.push(list);
    this.owners.set(list.id, owner);
    return list;
  }

  addWord(listId: string, w: Partial<Word> & { word: string; meaning: string }): Word {
    const word: Word = {
      id: id(),
      list_id: listId,
      memo: '',
      learned: false,
      in_notebook: false,
      right_count: 0,
      wrong_count: 0,
      created_at: now(),
      updated_at: now(),
      ...w,
    };
    this.words.push(word);
    this.recount(listId);
    return word;
  }

  private recount(listId: string): void {
    const l = this.lists.find((x) => x.id === listId);
    if (!l) return;
    const ws = this.words.filter((w) => w.list_id === listId);
    l.word_count = ws.length;
    l.learned_count = ws.filter((w) => w.learned).length;
    l.notebook_count = ws.filter((w) => w.in_notebook).length;
  }

  fetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(String(input), 'http://app.test');
    const method = (init.method ?? 'GET').toUpperCase();
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => (headers[k] = v));
    let body: unknown;
    if (typeof init.body === 'string') {
      try {
        body = JSON.parse(init.body);
      } catch {
        body = init.body;
      }
    }
    if (!url.pathname.startsWith(this.base)) return json(404, { error: { code: 'not_found', field: null, message: 'route not found' } });
    const path = url.pathname.slice(this.base.length) || '/';
    this.calls.push({ method, path, query: url.searchParams, headers, body });
    const inj = this.injected.find((i) => i.method === method && i.path.test(path) && i.times > 0);
    if (inj) {
      inj.times -= 1;
      return inj.respond(() => this.route(method, path, url.searchParams, headers, body));
    }
    return this.route(method, path, url.searchParams, headers, body);
  };

  private route(method: string, path: string, q: URLSearchParams, headers: Record<string, string>, body: unknown): Response {
    const user = headers['x-dev-user'] ?? (headers.authorization ? 'token-user' : null);
    if (!user) return apiError(401, 'unauthorized', 'no caller identity');
    const b = (body ?? {}) as Record<string, unknown>;
    const mine = (listId: string) => this.lists.find((l) => l.id === listId && this.owners.get(l.id) === user);
    const notFound = (what: string) => apiError(404, 'not_found', `${what} not found`);
    const page = <T,>(items: T[]) => {
      const limit = Number(q.get('limit') ?? 20);
      const start = Number(q.get('cursor') ?? 0);
      const slice = items.slice(start, start + limit);
      return json(200, { items: slice, next_cursor: start + limit < items.length ? String(start + limit) : null });
    };
    let m: RegExpExecArray | null;

    if (path === '/lists' && method === 'GET') return page(this.lists.filter((l) => this.owners.get(l.id) === user));
    if (path === '/lists' && method === 'POST') {
      const name = typeof b.name === 'string' ? b.name.trim() : '';
      if (!name) return apiError(400, 'required', 'is required', 'name');
      if ([...name].length > 100) return apiError(400, 'too_long', 'must be at most 100 characters', 'name');
      return json(201, this.addList(user, { name, source_lang: String(b.source_lang), target_lang: String(b.target_lang), favorite: b.favorite === true }));
    }
    if (path === '/lists/batch-delete' && method === 'POST') {
      const ids = (b.ids as string[]) ?? [];
      const deleted = ids.filter((i) => mine(i));
      this.lists = this.lists.filter((l) => !deleted.includes(l.id));
      return json(200, { deleted, not_found: ids.filter((i) => !deleted.includes(i)) });
    }
    if (path === '/notebooks' && method === 'GET') {
      const items = this.lists.filter((l) => this.owners.get(l.id) === user && l.notebook_count > 0).map((l) => ({ list: l, count: l.notebook_count }));
      return json(200, { items });
    }
    if (path === '/me' && method === 'GET') {
      const ls = this.lists.filter((l) => this.owners.get(l.id) === user);
      return json(200, {
        user_id: user,
        created_at: '2026-11-01T00:00:00.000Z',
        lists: ls.length,
        words: ls.reduce((a, l) => a + l.word_count, 0),
        learned: ls.reduce((a, l) => a + l.learned_count, 0),
        quizzes_taken: 0,
        answers_right: 0,
        answers_wrong: 0,
      });
    }
    if (path === '/client-events' && method === 'POST') {
      const evs = (b.events as unknown[]) ?? [];
      this.events.push(...evs);
      return json(202, { accepted: evs.length });
    }
    if ((m = /^\/quizzes\/([^/]+)\/answers$/.exec(path)) && method === 'POST') {
      const quiz = this.quizzes.get(m[1] as string);
      if (!quiz || quiz.owner !== user) return notFound('quiz');
      if (quiz.submitted) return apiError(409, 'already_submitted', 'answers were already submitted');
      quiz.submitted = true;
      const given = new Map(((b.answers as { word_id: string; answer: string }[]) ?? []).map((a) => [a.word_id, a.answer]));
      const results = [...quiz.answers].map(([wid, expected]) => {
        const w = this.words.find((x) => x.id === wid) as Word;
        const g = given.get(wid) ?? '';
        const correct = norm(g) === norm(expected);
        if (correct) w.right_count += 1;
        else {
          w.wrong_count += 1;
          w.in_notebook = true;
        }
        return { word_id: wid, prompt: expected === w.meaning ? w.word : w.meaning, given: g, expected, correct };
      });
      this.recount(quiz.list_id);
      return json(200, { quiz_id: m[1], list_id: quiz.list_id, score: results.filter((r) => r.correct).length, total: results.length, results });
    }
    if (!(m = /^\/lists\/([^/]+)(\/.*)?$/.exec(path))) return notFound('route');
    const list = mine(decodeURIComponent(m[1] as string));
    if (!list) return notFound('list');
    const rest = m[2] ?? '';
    const ws = () => this.words.filter((w) => w.list_id === list.id);
    if (rest === '') {
      if (method === 'GET') return json(200, list);
      if (method === 'PATCH') {
        if (typeof b.name === 'string') {
          if (!b.name.trim()) return apiError(400, 'required', 'is required', 'name');
          list.name = b.name.trim();
        }
        if (typeof b.favorite === 'boolean') list.favorite = b.favorite;
        return json(200, list);
      }
      if (method === 'DELETE') {
        this.lists = this.lists.filter((l) => l !== list);
        return json(204, null);
      }
    }
    if (rest === '/words' && method === 'GET') {
      let items = ws();
      if (q.has('learned')) items = items.filter((w) => String(w.learned) === q.get('learned'));
      const s = q.get('q')?.toLowerCase();
      if (s) items = items.filter((w) => w.word.toLowerCase().includes(s) || w.meaning.toLowerCase().includes(s));
      return page(items);
    }
    if (rest === '/words' && method === 'POST') {
      const items = Array.isArray(b.items) ? (b.items as Record<string, string>[]) : [b as Record<string, string>];
      for (const [i, it] of items.entries()) {
        const prefix = Array.isArray(b.items) ? `items[${i}].` : '';
        if (!it.word?.trim()) return apiError(400, 'required', 'is required', `${prefix}word`);
        if (!it.meaning?.trim()) return apiError(400, 'required', 'is required', `${prefix}meaning`);
        if ([...it.word].length > 200) return apiError(400, 'too_long', 'must be at most 200 characters', `${prefix}word`);
      }
      const added = items.map((it) => this.addWord(list.id, { word: it.word as string, meaning: it.meaning as string, memo: it.memo ?? '' }));
      return Array.isArray(b.items) ? json(201, { items: added, count: added.length }) : json(201, added[0]);
    }
    if (rest === '/words/batch-delete' && method === 'POST') {
      const ids = (b.ids as string[]) ?? [];
      const deleted = ids.filter((i) => ws().some((w) => w.id === i));
      this.words = this.words.filter((w) => !deleted.includes(w.id));
      this.recount(list.id);
      return json(200, { deleted, not_found: ids.filter((i) => !deleted.includes(i)) });
    }
    if ((m = /^\/words\/([^/]+)$/.exec(rest))) {
      const w = ws().find((x) => x.id === m![1]);
      if (!w) return notFound('word');
      if (method === 'PATCH') {
        for (const k of ['word', 'meaning'] as const) if (b[k] === '') return apiError(400, 'required', 'is required', k);
        for (const k of ['word', 'meaning', 'memo'] as const) if (typeof b[k] === 'string') w[k] = (b[k] as string).trim();
        if (typeof b.learned === 'boolean') w.learned = b.learned;
        this.recount(list.id);
        return json(200, w);
      }
      if (method === 'DELETE') {
        this.words = this.words.filter((x) => x !== w);
        this.recount(list.id);
        return json(204, null);
      }
    }
    if (rest === '/review' && method === 'GET') return page(ws().filter((w) => w.wrong_count > 0).sort((a, b2) => b2.wrong_count - a.wrong_count));
    if (rest === '/notebook' && method === 'GET') return page(ws().filter((w) => w.in_notebook));
    if ((m = /^\/notebook\/([^/]+)$/.exec(rest))) {
      const w = ws().find((x) => x.id === m![1]);
      if (!w) return notFound('word');
      w.in_notebook = method === 'PUT';
      this.recount(list.id);
      return method === 'PUT' ? json(200, w) : json(204, null);
    }
    if (rest === '/quizzes' && method === 'POST') {
      const words = ws();
      if (words.length === 0) return apiError(400, 'empty_list', 'the list has no words');
      const count = Math.min(Number(b.count ?? 10), words.length);
      const dir = b.direction === 'meaning_to_word' ? 'meaning_to_word' : 'word_to_meaning';
      const chosen = words.slice(0, count);
      const qid = id();
      this.quizzes.set(qid, {
        list_id: list.id,
        owner: user,
        submitted: false,
        answers: new Map(chosen.map((w) => [w.id, dir === 'word_to_meaning' ? w.meaning : w.word])),
      });
      const questions = chosen.map((w) => ({
        word_id: w.id,
        prompt: dir === 'word_to_meaning' ? w.word : w.meaning,
        choices: b.mode === 'typed' ? null : words.slice(0, 4).map((x) => (dir === 'word_to_meaning' ? x.meaning : x.word)),
      }));
      return json(201, { id: qid, list_id: list.id, mode: b.mode, direction: dir, requested: b.count, count, questions });
    }
    return apiError(405, 'method_not_allowed', 'method not allowed');
  }
}
