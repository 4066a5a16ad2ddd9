import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import type { FullSessionStore } from '../../src/store.js';
import { isKvSessionError } from '../../src/errors.js';
import { createRedisStore } from '../../stores/redis.js';
import {
  describeWithServer,
  eventually,
  probeTcp,
  randomPrefix,
  REDIS_URL,
  sparePort,
} from '../helpers/services.js';

const HOUR = 3_600_000;
// Generous enough for operations that should succeed on a loaded 2-core machine.
const TIMEOUT = 1000;
// How late past the store's own timeout a failing operation may settle (event-loop and CI slack).
const SLACK = 250;
const FAILURE_CODES = ['ERR_KVSESSION_STORE_UNAVAILABLE', 'ERR_KVSESSION_STORE_TIMEOUT'];

// Load the driver up front: the bounds below are about Redis failures, not a cold module import
// (which blocks the event loop, so no timer could bound it).
await import('@keyv/redis');

const key = (): string => randomBytes(16).toString('base64url');
const stores: FullSessionStore[] = [];
function track(store: FullSessionStore): FullSessionStore {
  stores.push(store);
  return store;
}
afterEach(async () => {
  for (const store of stores.splice(0)) {
    await store.clear().catch(() => undefined);
    await store.close();
  }
});

/** Awaits `op`, asserting it rejects with a store-failure code within TIMEOUT + SLACK; resolves the code. */
async function expectBoundedFailure(op: () => Promise<unknown>): Promise<string> {
  const started = performance.now();
  const err: unknown = await op().then(
    () => new Error('resolved instead of rejecting'),
    (e: unknown) => e,
  );
  const elapsed = performance.now() - started;
  expect(isKvSessionError(err) ? err.code : err).toSatisfy((code: unknown) =>
    FAILURE_CODES.includes(code as string),
  );
  expect(elapsed).toBeLessThan(TIMEOUT + SLACK);
  return (err as { code: string }).code;
}

/** Every store operation, each of which must fail (not hang, not "not found") during an outage. */
function everyOperation(store: FullSessionStore): Array<() => Promise<unknown>> {
  const k = key();
  return [
    () => store.get(k),
    () => store.create(k, 'v', Date.now() + HOUR),
    () => store.update(k, 'v', 'w', Date.now() + HOUR),
    () => store.touch(k, Date.now() + HOUR),
    () => store.delete(k),
    () => store.count(),
    () => store.clear(),
  ];
}

describe('createRedisStore(options)', () => {
  it('createRedisStore(url) returns synchronously with prefix "sess:", atomic and native-expiry capabilities', async () => {
    const store = createRedisStore('redis://127.0.0.1:1');
    expect([store.name, store.prefix, store.capabilities]).toEqual([
      'redis',
      'sess:',
      { atomic: true, nativeExpiry: true },
    ]);
    await store.close();
  });

  it.each(['http://127.0.0.1:6379', 'redis://127.0.0.1:6379/notadb', 'not a url'])(
    'createRedisStore(%j) throws ERR_KVSESSION_BAD_STORE_URL',
    (url) => {
      expect(() => createRedisStore(url)).toThrow(
        expect.objectContaining({ code: 'ERR_KVSESSION_BAD_STORE_URL' }),
      );
    },
  );

  it('a bad URL error never shows the password it contains', () => {
    let message = '';
    try {
      createRedisStore('redis://user:s3cr3tpw@host:6379/x');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).not.toContain('s3cr3tpw');
    expect(message).not.toBe('');
  });

  it.each([0, -1, Number.NaN])(
    'createRedisStore({ timeout: %s }) throws ERR_KVSESSION_BAD_OPTION',
    (timeout) => {
      expect(() => createRedisStore({ timeout })).toThrow(
        expect.objectContaining({ code: 'ERR_KVSESSION_BAD_OPTION' }),
      );
    },
  );
});

describe('redis store against a closed port', () => {
  it('every operation rejects with a store-failure code within timeout + 250 ms, again and again', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown): void => void unhandled.push(err);
    process.on('uncaughtException', onUnhandled);
    process.on('unhandledRejection', onUnhandled);
    try {
      const store = track(
        createRedisStore({
          url: 'redis://127.0.0.1:1',
          prefix: randomPrefix('redis'),
          timeout: TIMEOUT,
        }),
      );
      for (let round = 0; round < 2; round++) {
        for (const op of everyOperation(store)) await expectBoundedFailure(op);
      }
      // Let a few background reconnect attempts fail: their errors must stay inside the client.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('uncaughtException', onUnhandled);
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('close() resolves and later calls reject with ERR_KVSESSION_STORE_CLOSED', async () => {
    const store = createRedisStore({ url: 'redis://127.0.0.1:1', timeout: TIMEOUT });
    await expectBoundedFailure(() => store.get(key()));
    await store.close();
    await expect(store.get(key())).rejects.toMatchObject({ code: 'ERR_KVSESSION_STORE_CLOSED' });
  });
});

await describeWithServer('redis store on the shared server', REDIS_URL, () => {
  const raw = createClient({ url: REDIS_URL });
  beforeAll(async () => {
    await raw.connect();
  });
  afterAll(async () => {
    raw.destroy();
  });

  it('create(key) stores the plain value at prefix + key with a native expiry at expiresAt', async () => {
    const store = track(createRedisStore({ url: REDIS_URL, prefix: randomPrefix('redis') }));
    const k = key();
    const expiresAt = Date.now() + HOUR;
    expect(await store.create(k, '{"a":[]}', expiresAt)).toBe(true);
    expect(await raw.get(store.prefix + k)).toBe('{"a":[]}');
    expect(await raw.pExpireTime(store.prefix + k)).toBe(expiresAt);
  });

  it('update(key, expected) round-trips [], {} and 12345678901234567890 byte-exactly', async () => {
    const store = track(createRedisStore({ url: REDIS_URL, prefix: randomPrefix('redis') }));
    const k = key();
    const expiresAt = Date.now() + HOUR;
    const values = [
      '[]',
      '{}',
      '12345678901234567890',
      '[]',
      '{"n":12345678901234567890,"e":[],"o":{}}',
    ];
    await store.create(k, values[0] as string, expiresAt);
    for (let i = 1; i < values.length; i++) {
      expect(
        await store.update(k, values[i - 1] as string, values[i] as string, expiresAt + i),
      ).toBe(true);
      expect(await store.get(k)).toEqual({ value: values[i], expiresAt: expiresAt + i });
    }
    // {} is not [] to the compare-and-set, even though cjson would decode both to the same table.
    expect(await store.update(k, '{"n":12345678901234567890,"e":{},"o":{}}', 'x', expiresAt)).toBe(
      false,
    );
  });

  it('update(key) runs again after the server forgot its scripts (NOSCRIPT)', async () => {
    const store = track(createRedisStore({ url: REDIS_URL, prefix: randomPrefix('redis') }));
    const k = key();
    await store.create(k, 'a', Date.now() + HOUR);
    expect(await store.update(k, 'a', 'b', Date.now() + HOUR)).toBe(true);
    // SCRIPT FLUSH on the shared server only costs other clients one EVAL fallback each.
    await raw.scriptFlush();
    expect(await store.update(k, 'b', 'c', Date.now() + HOUR)).toBe(true);
    expect((await store.get(k))?.value).toBe('c');
  });

  it('count() skips keys with ":" under the prefix, and a glob-like prefix matches only itself', async () => {
    const base = randomPrefix('redis');
    const globby = track(createRedisStore({ url: REDIS_URL, prefix: `${base}a*[b]?\\:` }));
    // Its keys match the unescaped pattern `a*[b]?\:*`, so a store that did not escape would count them.
    const lookalike = track(createRedisStore({ url: REDIS_URL, prefix: `${base}aXXbQ:` }));
    const expiresAt = Date.now() + HOUR;
    await globby.create(key(), 's1', expiresAt);
    await globby.create(key(), 's2', expiresAt);
    await globby.create(`user:${key()}`, '{}', expiresAt);
    await lookalike.create(key(), 'other', expiresAt);
    expect(await globby.count()).toBe(2);
    await globby.clear();
    expect([await globby.count(), await lookalike.count()]).toEqual([0, 1]);
  });

  it('count() and clear() page through more keys than one SCAN batch', async () => {
    const store = track(createRedisStore({ url: REDIS_URL, prefix: randomPrefix('redis') }));
    const expiresAt = Date.now() + HOUR;
    await Promise.all(Array.from({ length: 2500 }, () => store.create(key(), 'v', expiresAt)));
    expect(await store.count()).toBe(2500);
    await store.clear();
    expect(await raw.keys(`${store.prefix}*`)).toEqual([]);
  });
});

// ---- A private redis-server child, so outages can be caused without disturbing anyone else ----

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const deadline = Date.now() + 5000;
  while ((await probeTcp(`redis://127.0.0.1:${port}`)) !== undefined) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`redis-server did not start on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return child;
}

async function kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

describe('redis store through an outage of its own redis-server', () => {
  let child: ChildProcess | undefined;
  afterEach(async () => {
    if (child) await kill(child);
    child = undefined;
  });

  it('operations reject within the bound while Redis is down, and the same store works again once it is back', async () => {
    const port = await sparePort();
    child = await startRedis(port);
    const store = track(
      createRedisStore({
        url: `redis://127.0.0.1:${port}`,
        prefix: randomPrefix('redis'),
        timeout: TIMEOUT,
      }),
    );
    const k = key();
    expect(await store.create(k, 'before', Date.now() + HOUR)).toBe(true);

    await kill(child);
    for (const op of everyOperation(store)) await expectBoundedFailure(op);
    // A write refused during the outage must not land later, when the connection comes back.
    const ghost = key();
    await expectBoundedFailure(() => store.create(ghost, 'ghost', Date.now() + HOUR));
    // A burst during the outage fails as fast as one call: nothing queues up behind the outage.
    const started = performance.now();
    const burst = await Promise.allSettled(Array.from({ length: 200 }, () => store.get(k)));
    expect(performance.now() - started).toBeLessThan(TIMEOUT + SLACK);
    expect(
      burst.every(
        (r) =>
          r.status === 'rejected' && FAILURE_CODES.includes((r.reason as { code: string }).code),
      ),
    ).toBe(true);

    child = await startRedis(port);
    // The restarted server has neither the data nor the Lua scripts (no persistence).
    expect(await eventually(() => store.get(k), 10_000)).toBeUndefined();
    expect(await store.get(ghost)).toBeUndefined();
    expect(await store.create(k, 'after', Date.now() + HOUR)).toBe(true);
    expect(await store.update(k, 'after', 'updated', Date.now() + HOUR)).toBe(true);
    expect((await store.get(k))?.value).toBe('updated');
  });

  it('operations against a stalled server reject with ERR_KVSESSION_STORE_TIMEOUT, and work again once it resumes', async () => {
    const port = await sparePort();
    child = await startRedis(port);
    const store = track(
      createRedisStore({
        url: `redis://127.0.0.1:${port}`,
        prefix: randomPrefix('redis'),
        timeout: TIMEOUT,
      }),
    );
    const k = key();
    await store.create(k, 'v', Date.now() + HOUR);

    child.kill('SIGSTOP');
    try {
      expect(await expectBoundedFailure(() => store.get(k))).toBe('ERR_KVSESSION_STORE_TIMEOUT');
      expect(await expectBoundedFailure(() => store.update(k, 'v', 'w', Date.now() + HOUR))).toBe(
        'ERR_KVSESSION_STORE_TIMEOUT',
      );
    } finally {
      child.kill('SIGCONT');
    }
    // The stalled update was delivered and runs once the server resumes (re-sent as EVAL after the
    // fresh server's NOSCRIPT, so a read queued behind it may still see 'v'); the store is usable again.
    const landed = await eventually(async () => {
      const value = (await store.get(k))?.value;
      if (value !== 'w') throw new Error(`still ${String(value)}`);
      return value;
    }, 5000);
    expect(landed).toBe('w');
  });

  it('a store first used against a stalled server times out, sends nothing late, and close() still resolves', async () => {
    const port = await sparePort();
    child = await startRedis(port);
    const url = `redis://127.0.0.1:${port}`;
    const store = track(createRedisStore({ url, prefix: randomPrefix('redis'), timeout: TIMEOUT }));
    const other = createRedisStore({ url, prefix: randomPrefix('redis'), timeout: TIMEOUT });
    const k = key();
    child.kill('SIGSTOP');
    try {
      expect(await expectBoundedFailure(() => store.create(k, 'ghost', Date.now() + HOUR))).toBe(
        'ERR_KVSESSION_STORE_TIMEOUT',
      );
      expect(await expectBoundedFailure(() => other.get(k))).toBe('ERR_KVSESSION_STORE_TIMEOUT');
      const started = performance.now();
      await other.close();
      expect(performance.now() - started).toBeLessThan(TIMEOUT + SLACK);
    } finally {
      child.kill('SIGCONT');
    }
    // The create that timed out while the connection was still opening must not run once it opens.
    expect(await eventually(() => store.get(k), 5000)).toBeUndefined();
    expect(await store.count()).toBe(0);
  });

  it('a store created while Redis is down connects by itself once Redis starts', async () => {
    const port = await sparePort();
    const store = track(
      createRedisStore({
        url: `redis://127.0.0.1:${port}`,
        prefix: randomPrefix('redis'),
        timeout: TIMEOUT,
      }),
    );
    await expectBoundedFailure(() => store.get(key()));
    child = await startRedis(port);
    expect(await eventually(() => store.count(), 10_000)).toBe(0);
  });
});
