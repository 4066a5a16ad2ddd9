import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import type { StoreEntry } from '../src/store.js';
import { CountingStore } from './helpers/counting-store.js';
import { startApp } from './helpers/app.js';
import type { Client, TestSessionOptions } from './helpers/app.js';
import { fakeClock } from './helpers/clock.js';
import { mountSessionRoutes } from './helpers/routes.js';
import { MemoryStore } from '../stores/memory.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

async function setup(session: TestSessionOptions) {
  const clock = fakeClock();
  const map = new Map<string, StoreEntry>();
  const store = new CountingStore(new MemoryStore({ map }));
  const t = await startApp({
    session: { store, now: clock.now, ...session },
    routes: mountSessionRoutes,
  });
  const client = t.client();
  /** The store expiry of the client's session, read straight from the Map. */
  const expiryOf = (c: Client = client): number | undefined => {
    const cookie = c.cookie() as string;
    const id = cookie.slice(0, cookie.lastIndexOf('.'));
    return map.get(`sess:${createHash('sha256').update(id).digest('base64url')}`)?.expiresAt;
  };
  return { clock, map, store, t, client, expiryOf };
}

async function valueOf(client: Client): Promise<unknown> {
  return (await client.get('/get/x')).json<{ value: unknown }>().value;
}

describe('idleTimeout', () => {
  it("'30m': a session unused for 30 minutes is gone, one unused for 1 ms less is not", async () => {
    const { clock, client } = await setup({ idleTimeout: '30m' });
    await client.post('/set/x/1');
    clock.advance(30 * MIN - 1);
    expect(await valueOf(client)).toBe('1');
    clock.advance(30 * MIN);
    expect(await valueOf(client)).toBeNull();
  });

  it('is enforced on load from the store expiry: the expired record is deleted, not adopted', async () => {
    const { clock, map, store, client } = await setup({ idleTimeout: 1000 });
    await client.post('/set/x/1');
    clock.advance(1000);
    store.reset();
    expect(await valueOf(client)).toBeNull();
    expect(store.nonZero()).toEqual({ get: 1, delete: 1 });
    expect(map.size).toBe(0);
    const reply = await client.post('/set/x/2');
    expect(store.counts.create).toBe(1);
    expect(reply.cookie()?.value).not.toBe(undefined);
  });

  it('a replayed cookie does not outlive the server-side deadline', async () => {
    const { clock, client } = await setup({ idleTimeout: '12h', cookie: { persistent: true } });
    await client.post('/set/x/1');
    const replay = client.fork();
    clock.advance(12 * HOUR);
    // The client ignores Max-Age and sends the old cookie anyway.
    expect(await valueOf(replay)).toBeNull();
  });
});

describe('absoluteTimeout', () => {
  it("'7d': an active session is gone 7 days after creation however often it is used", async () => {
    const { clock, client } = await setup({
      idleTimeout: '1d',
      absoluteTimeout: '7d',
      touchInterval: '1h',
    });
    await client.post('/set/x/1');
    for (let day = 1; day < 7; day++) {
      clock.advance(20 * HOUR);
      expect(await valueOf(client)).toBe('1');
      clock.advance(4 * HOUR);
      await client.post(`/set/day/${day}`);
    }
    clock.advance(24 * HOUR - 1);
    expect(await valueOf(client)).toBe('1');
    clock.advance(1);
    expect(await valueOf(client)).toBeNull();
  });

  it('counts from creation even when the store expiry has not passed', async () => {
    const { clock, store, client } = await setup({
      idleTimeout: '1h',
      absoluteTimeout: '2h',
      touchInterval: '1m',
    });
    await client.post('/set/x/1');
    clock.advance(59 * MIN);
    expect(await valueOf(client)).toBe('1');
    clock.advance(59 * MIN);
    expect(await valueOf(client)).toBe('1');
    clock.advance(2 * MIN);
    store.reset();
    expect(await valueOf(client)).toBeNull();
    expect(store.nonZero()).toEqual({ get: 1, delete: 1 });
  });
});

describe('store expiry', () => {
  it('always equals min(lastActive + idle, created + absolute)', async () => {
    const { clock, client, expiryOf } = await setup({
      idleTimeout: '1h',
      absoluteTimeout: '3h',
      touchInterval: '10m',
    });
    const created = clock.now();
    await client.post('/set/x/1');
    expect(expiryOf()).toBe(created + HOUR);
    clock.advance(30 * MIN);
    await client.post('/set/x/2');
    expect(expiryOf()).toBe(clock.now() + HOUR);
    clock.advance(45 * MIN);
    await valueOf(client);
    expect(expiryOf()).toBe(clock.now() + HOUR);
    clock.advance(40 * MIN);
    await client.post('/set/x/3');
    expect(expiryOf()).toBe(clock.now() + HOUR);
    clock.advance(35 * MIN);
    await client.post('/set/x/4');
    // 2h30m in: the idle deadline would be 3h30m, the absolute one caps it at 3h.
    expect(expiryOf()).toBe(created + 3 * HOUR);
  });
});

describe('touchInterval', () => {
  it('read-only requests touch only once the idle deadline gains at least touchInterval', async () => {
    const { clock, store, client, expiryOf } = await setup({
      idleTimeout: '30m',
      touchInterval: '5m',
    });
    await client.post('/set/x/1');
    const first = expiryOf() as number;
    store.reset();
    for (let i = 0; i < 4; i++) {
      clock.advance(MIN + 10_000);
      expect(await valueOf(client)).toBe('1');
    }
    expect(store.counts.touch).toBe(0);
    expect(expiryOf()).toBe(first);
    clock.advance(MIN);
    await valueOf(client);
    expect(store.counts.touch).toBe(1);
    expect(expiryOf()).toBe(clock.now() + 30 * MIN);
    for (let i = 0; i < 4; i++) {
      clock.advance(MIN);
      await valueOf(client);
    }
    expect(store.nonZero()).toEqual({ get: 9, touch: 1 });
  });

  it('defaults to idleTimeout / 10', async () => {
    const { clock, store, client } = await setup({ idleTimeout: '10m' });
    await client.post('/set/x/1');
    store.reset();
    clock.advance(MIN - 1);
    await valueOf(client);
    expect(store.counts.touch).toBe(0);
    clock.advance(1);
    await valueOf(client);
    expect(store.counts.touch).toBe(1);
  });

  it('a route that never touches the session never touches the store, however long it has been', async () => {
    const { clock, store, client } = await setup({ idleTimeout: '10m' });
    await client.post('/set/x/1');
    store.reset();
    clock.advance(9 * MIN);
    await client.get('/none');
    expect(store.total).toBe(0);
  });
});
