import { expect } from 'vitest';
import { KvSessionError } from '../../src/errors.js';
import type { SessionStore } from '../../src/store.js';

/** Runs `fn` and returns the code of the KvSessionError it threw (failing on any other error), or undefined. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KvSessionError);
    return (err as KvSessionError).code;
  }
  return undefined;
}

/** What `promise` rejected with (its name and code), or `{ name: 'resolved' }` when it did not reject. */
export async function rejectionOf(
  promise: Promise<unknown>,
): Promise<{ name?: unknown; code?: unknown }> {
  return promise.then(
    () => ({ name: 'resolved' }),
    (err: { name?: unknown; code?: unknown }) => err,
  );
}

/**
 * close() on `store` while a get, a touch and a create are under way: they finish as if it had not
 * been called, and a later get rejects with ERR_KVSESSION_STORE_CLOSED.
 */
export async function expectCloseFinishesWork(store: SessionStore): Promise<void> {
  const inAnHour = (): number => Date.now() + 3_600_000;
  await store.create('k', 'v', inAnHour());
  const underWay = [
    store.get('k'),
    store.touch('k', inAnHour() + 1),
    store.create('k2', 'w', inAnHour()),
  ];
  await store.close();
  expect((await Promise.all(underWay)).map((r) => (typeof r === 'object' ? r.value : r))).toEqual([
    'v',
    true,
    true,
  ]);
  expect(await rejectionOf(store.get('k'))).toMatchObject({
    name: 'KvSessionError',
    code: 'ERR_KVSESSION_STORE_CLOSED',
  });
}
