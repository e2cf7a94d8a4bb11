// Client events (CONTRACTS.md section A): batched ≤ 20 events and ≤ 16 KiB, strings capped,
// uncaught errors / failed API calls / page loads recorded, 429 waited out, nothing sent signed out.

import { screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { ClientEvent } from '../../src/api/types.ts';
import { MAX_BODY_BYTES, Telemetry, cap, capEvent, takeBatch } from '../../src/telemetry/events.ts';
import { FakeApi } from './fakeApi.ts';
import { renderApp } from './helpers.tsx';

const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v)).length;

function sender(ready = true) {
  const sent: ClientEvent[][] = [];
  const answers: (() => Promise<{ accepted: number }>)[] = [];
  return {
    sent,
    answers,
    ready: vi.fn(() => ready),
    send: vi.fn(async (events: ClientEvent[]) => {
      sent.push(events);
      const a = answers.shift();
      return a ? a() : { accepted: events.length };
    }),
  };
}

describe('client events', () => {
  it('caps strings as the API does, counting characters and never splitting an emoji', () => {
    expect(cap('가나다라', 2)).toBe('가나');
    expect(cap('a😀b', 2)).toBe('a😀');
    const e = capEvent({ type: 'error', page: '/', message: 'm'.repeat(5000), stack: 's'.repeat(9000), error_type: 't'.repeat(300) });
    expect([e.message!.length, e.stack!.length, e.error_type!.length]).toEqual([1000, 4000, 200]);
    // Durations within what the API takes: 0 to an hour, whole milliseconds.
    expect(capEvent({ type: 'page_load', page: '/', duration_ms: 5_000_000 }).duration_ms).toBe(3_600_000);
    expect(capEvent({ type: 'page_load', page: '/', duration_ms: 12.6 }).duration_ms).toBe(13);
  });

  it('sends at most 20 events and 16 KiB per request', () => {
    const many = Array.from({ length: 45 }, (_, i): ClientEvent => ({ type: 'page_load', page: '/', duration_ms: i }));
    const q = [...many];
    expect([takeBatch(q).length, takeBatch(q).length, takeBatch(q).length, q.length]).toEqual([20, 20, 5, 0]);

    const big = Array.from({ length: 20 }, (): ClientEvent => capEvent({ type: 'error', page: '/', message: '오'.repeat(1000), stack: 'x'.repeat(4000) }));
    const q2 = [...big];
    const batches: ClientEvent[][] = [];
    while (q2.length) batches.push(takeBatch(q2));
    expect(batches.length).toBeGreaterThan(1);
    for (const b of batches) expect(bytes({ events: b })).toBeLessThanOrEqual(MAX_BODY_BYTES);
    expect(batches.flat()).toEqual(big);
  });

  it('waits while nobody is signed in, then sends what waited', async () => {
    const s = sender(false);
    const t = new Telemetry(s, 0);
    t.record({ type: 'error', page: '/', message: 'early' });
    await new Promise((r) => setTimeout(r, 5));
    expect(s.send).not.toHaveBeenCalled();
    s.ready.mockReturnValue(true);
    t.wake();
    await vi.waitFor(() => expect(s.sent).toEqual([[{ type: 'error', page: '/', message: 'early' }]]));
  });

  it('keeps events through a 429 and sends them after Retry-After; drops a batch the API refused', async () => {
    vi.useFakeTimers();
    try {
      const s = sender();
      const t = new Telemetry(s, 0);
      s.answers.push(() => Promise.reject(Object.assign(new Error('slow'), { status: 429, retryAfter: 7 })));
      t.record({ type: 'page_load', page: '/', duration_ms: 1 });
      await vi.advanceTimersByTimeAsync(1);
      expect(t.pending()).toBe(1);
      await vi.advanceTimersByTimeAsync(6000);
      expect(s.send).toHaveBeenCalledTimes(1);
      await vi.advanceTimersByTimeAsync(1100);
      expect(s.send).toHaveBeenCalledTimes(2);
      expect(t.pending()).toBe(0);

      s.answers.push(() => Promise.reject(Object.assign(new Error('bad'), { status: 400 })));
      t.record({ type: 'page_load', page: '/', duration_ms: 2 });
      await vi.advanceTimersByTimeAsync(1);
      expect(t.pending()).toBe(0);
      expect(s.send).toHaveBeenCalledTimes(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('sends the same error at most five times per page load', () => {
    const t = new Telemetry(sender(false), 0);
    for (let i = 0; i < 50; i++) t.record({ type: 'error', page: '/', message: 'loop', error_type: 'TypeError' });
    expect(t.pending()).toBe(5);
    t.stop();
  });
});

describe('the app reports itself', () => {
  it('sends an uncaught error, a failed API call and the page load to /api/client-events', async () => {
    const fake = new FakeApi();
    fake.failNext('GET', /^\/lists$/, 500, 'internal', 'internal error');
    renderApp({ fake });
    await screen.findByRole('alert');
    window.dispatchEvent(new ErrorEvent('error', { error: new TypeError('x is undefined'), message: 'x is undefined' }));
    await vi.waitFor(() => {
      const types = fake.events.map((e) => (e as ClientEvent).type);
      expect(types).toContain('error');
      expect(types).toContain('api_error');
      expect(types).toContain('page_load');
    });
    const byType = Object.fromEntries(fake.events.map((e) => [(e as ClientEvent).type, e]));
    expect(byType.api_error).toEqual({ type: 'api_error', page: '/', api_method: 'GET', api_path: '/lists', status: 500, message: 'internal error' });
    expect(byType.error).toMatchObject({ type: 'error', page: '/', message: 'x is undefined', error_type: 'TypeError' });
    expect(byType.page_load).toMatchObject({ type: 'page_load', page: '/' });
    const post = fake.calls.find((c) => c.path === '/client-events')!;
    expect(post.headers['x-dev-user']).toBe('alice');
  });
});
