import { describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError, parseRetryAfter, type AuthBridge, type FailureInfo } from '../../src/api/client.ts';

function respond(status: number, body?: unknown, headers: Record<string, string> = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

function setup(answers: (Response | Error)[], auth: Partial<AuthBridge> = {}) {
  const fetch = vi.fn(async (_url: RequestInfo | URL, _init?: RequestInit) => {
    const a = answers.shift();
    if (!a) throw new Error('no more answers');
    if (a instanceof Error) throw a;
    return a;
  });
  const failures: FailureInfo[] = [];
  const waits: (number | null)[] = [];
  const slept: number[] = [];
  const bridge: AuthBridge = {
    headers: async () => ({ 'x-dev-user': 'alice' }),
    reauthenticate: async () => false,
    ...auth,
  };
  const client = new ApiClient('/api/', bridge, {
    onFailure: (f) => failures.push(f),
    onWait: (u) => waits.push(u),
    sleep: async (ms) => void slept.push(ms),
    now: () => 1_000_000,
  }, fetch as unknown as typeof globalThis.fetch);
  return { client, fetch, failures, waits, slept };
}

describe('the API client', () => {
  it('sends the caller header, a JSON body and the query under the configured base', async () => {
    const { client, fetch } = setup([respond(200, { items: [], next_cursor: null })]);
    await client.listWords('l/1', { learned: false, q: '사과' });
    const [url, init] = fetch.mock.calls[0]!;
    expect(url).toBe('/api/lists/l%2F1/words?limit=100&learned=false&q=%EC%82%AC%EA%B3%BC');
    expect((init!.headers as Record<string, string>)['x-dev-user']).toBe('alice');

    const c2 = setup([respond(201, { id: 'x' })]);
    await c2.client.createList({ name: '여행', source_lang: 'ko', target_lang: 'en' });
    const [, init2] = c2.fetch.mock.calls[0]!;
    expect(init2!.method).toBe('POST');
    expect((init2!.headers as Record<string, string>)['content-type']).toBe('application/json');
    expect(JSON.parse(init2!.body as string)).toEqual({ name: '여행', source_lang: 'ko', target_lang: 'en' });
  });

  it('turns the API error body into a typed error with the field at fault', async () => {
    const { client, failures } = setup([respond(400, { error: { code: 'too_long', field: 'items[3].word', message: 'must be at most 200 characters' } })]);
    const e = await client.addWords('l1', [{ word: 'a', meaning: 'b' }]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toMatchObject({ status: 400, code: 'too_long', field: 'items[3].word', kind: 'invalid' });
    // Telemetry gets the route template, never ids.
    expect(failures).toEqual([{ method: 'POST', path: '/lists/{list_id}/words', status: 400, message: 'must be at most 200 characters' }]);
  });

  it.each([
    [404, 'not_found'],
    [409, 'conflict'],
    [413, 'too_large'],
    [500, 'server'],
    [502, 'server'],
    [504, 'server'],
  ])('maps HTTP %i to the %s screen state', async (status, kind) => {
    const { client } = setup([respond(status, { error: { code: 'c', field: null, message: 'm' } })]);
    await expect(client.getList('x')).rejects.toMatchObject({ status, kind });
  });

  it("reads API Gateway's own 401 body and asks to sign in again, then repeats the call", async () => {
    const reauthenticate = vi.fn(async () => true);
    const { client, fetch } = setup([respond(401, { message: 'Unauthorized' }), respond(200, { user_id: 'alice' })], { reauthenticate });
    await expect(client.me()).resolves.toMatchObject({ user_id: 'alice' });
    expect(reauthenticate).toHaveBeenCalledTimes(1);
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('fails with kind unauthorized when the user does not sign in again', async () => {
    const { client } = setup([respond(401, { message: 'Unauthorized' })]);
    await expect(client.me()).rejects.toMatchObject({ kind: 'unauthorized', message: 'Unauthorized' });
  });

  it('reports a request that never got an answer as status 0 (offline)', async () => {
    const { client, failures } = setup([new TypeError('Failed to fetch')]);
    await expect(client.me()).rejects.toMatchObject({ status: 0, kind: 'offline' });
    expect(failures[0]).toMatchObject({ status: 0, path: '/me' });
  });

  it('waits as long as Retry-After says on 429, then sends the same request again', async () => {
    const { client, fetch, slept, waits } = setup([respond(429, { error: { code: 'rate_limited', field: null, message: 'slow down' } }, { 'retry-after': '3' }), respond(201, { id: 'w' })]);
    await expect(client.addWord('l1', { word: '사과', meaning: 'apple' })).resolves.toEqual({ id: 'w' });
    expect(slept).toEqual([3000]);
    expect(waits).toEqual([1_000_000 + 3000, null]);
    expect(fetch.mock.calls[1]![1]!.body).toBe(fetch.mock.calls[0]![1]!.body);
  });

  it('gives up on 429 when the wait is too long, saying how long', async () => {
    const { client, slept } = setup([respond(429, {}, { 'retry-after': '120' })]);
    await expect(client.me()).rejects.toMatchObject({ kind: 'rate_limited', retryAfter: 120 });
    expect(slept).toEqual([]);
  });

  it('stops after three waits', async () => {
    const r = () => respond(429, {}, { 'retry-after': '1' });
    const { client, fetch } = setup([r(), r(), r(), r()]);
    await expect(client.me()).rejects.toMatchObject({ kind: 'rate_limited' });
    expect(fetch).toHaveBeenCalledTimes(4);
  });

  it('sends client events without reporting their own failures or asking anyone to sign in', async () => {
    const reauthenticate = vi.fn(async () => true);
    const { client, failures } = setup([respond(401, { message: 'Unauthorized' })], { reauthenticate });
    await expect(client.sendClientEvents([{ type: 'error', page: '/' }])).rejects.toMatchObject({ status: 401 });
    expect(reauthenticate).not.toHaveBeenCalled();
    expect(failures).toEqual([]);
  });

  it('follows next_cursor to the last page', async () => {
    const { client } = setup([respond(200, { items: [1, 2], next_cursor: 'c1' }), respond(200, { items: [3], next_cursor: null })]);
    await expect(client.allLists()).resolves.toEqual([1, 2, 3]);
  });
});

describe('Retry-After', () => {
  it('reads delay-seconds and HTTP-dates', () => {
    expect(parseRetryAfter('7', 0)).toBe(7);
    expect(parseRetryAfter('Wed, 25 Nov 2026 08:00:10 GMT', Date.UTC(2026, 10, 25, 8, 0, 0))).toBe(10);
    expect(parseRetryAfter('Wed, 25 Nov 2026 07:00:00 GMT', Date.UTC(2026, 10, 25, 8, 0, 0))).toBe(0);
    expect(parseRetryAfter('soon', 0)).toBeNull();
    expect(parseRetryAfter(null, 0)).toBeNull();
  });
});
