import assert from 'node:assert/strict';
import type { SessionStore } from '../src/index.js';
import type { Suite } from './util.js';
import { HOUR, need, inMs, randomKey, withStore } from './util.js';

// A closed store must answer at once; this only turns a hang into a readable failure.
const HANG_MS = 5_000;

/** Registers the close group: a closed store rejects every call with ERR_KVSESSION_STORE_CLOSED. */
export function closeTests(suite: Suite): void {
  const { test } = suite;

  test('after close(), every operation rejects with ERR_KVSESSION_STORE_CLOSED', () =>
    withStore(suite, async (store) => {
      const key = randomKey();
      await store.create(key, 'v', inMs(HOUR));
      await store.close();
      await assertAllClosed(store, key);
    }));

  test('close() on a store never used resolves, and later operations reject with ERR_KVSESSION_STORE_CLOSED', () =>
    withStore(suite, async (store) => {
      await store.close();
      await assertAllClosed(store, randomKey());
    }));

  test('close() twice resolves both times', () =>
    withStore(suite, async (store) => {
      await store.get(randomKey());
      await store.close();
      await store.close();
    }));
}

async function assertAllClosed(store: SessionStore, key: string): Promise<void> {
  const calls: [string, () => Promise<unknown>][] = [
    ['get', () => store.get(key)],
    ['create', () => store.create(randomKey(), 'v', inMs(HOUR))],
    ['update', () => store.update(key, 'v', 'w', inMs(HOUR))],
    ['touch', () => store.touch(key, inMs(HOUR))],
    ['delete', () => store.delete(key)],
    ['prune', () => need(store, 'prune')()],
    ['count', () => need(store, 'count')()],
    ['clear', () => need(store, 'clear')()],
  ];
  for (const [name, call] of calls) await assertClosedRejection(name, call);
}

async function assertClosedRejection(name: string, call: () => Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<'hung'>(
    (resolve) => (timer = setTimeout(() => resolve('hung'), HANG_MS)),
  );
  try {
    // Promise.resolve().then() also catches a synchronous throw, which is not a rejection but is reported the same way.
    const outcome = await Promise.race([
      Promise.resolve()
        .then(call)
        .then(
          (value) => ({ resolved: value }),
          (error: unknown) => ({ error }),
        ),
      hang,
    ]);
    assert.notEqual(
      outcome,
      'hung',
      `${name}() after close() neither resolved nor rejected within ${HANG_MS} ms`,
    );
    assert.ok(
      typeof outcome === 'object' && 'error' in outcome,
      `${name}() after close() resolved instead of rejecting`,
    );
    const error = outcome.error as { name?: unknown; code?: unknown };
    // Compared by name and code, not instanceof, so a store built on another copy of kvsession still passes.
    assert.equal(
      error.name,
      'KvSessionError',
      `${name}() after close() rejected with ${String(error.name)}`,
    );
    assert.equal(error.code, 'ERR_KVSESSION_STORE_CLOSED', `${name}() after close()`);
  } finally {
    clearTimeout(timer);
  }
}
