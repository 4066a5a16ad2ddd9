import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import type { SessionStore } from '../src/index.js';
import type { ConformanceOptions, MakeStore } from './types.js';

/** What every behaviour group receives: the factory, the options and a registrar. */
export interface Suite {
  readonly makeStore: MakeStore;
  readonly options: ConformanceOptions;
  /** Registers one test with the suite's timeout. */
  readonly test: (name: string, fn: () => Promise<void>) => void;
}

/** A fresh random prefix, unique per store, so parallel runs on one backend never collide. */
export function randomPrefix(suite: Suite): string {
  return `${suite.options.prefix ?? 'kvconf:'}${randomBytes(6).toString('hex')}:`;
}

/** A random key shaped like a real session key (43 base64url characters, never a `:`). */
export function randomKey(): string {
  return randomBytes(32).toString('base64url');
}

/** Runs `fn` on a fresh store under a random prefix, clearing and closing it afterwards. */
export async function withStore(
  suite: Suite,
  fn: (store: SessionStore) => Promise<void>,
): Promise<void> {
  const prefix = randomPrefix(suite);
  const store = await suite.makeStore({ prefix });
  try {
    await fn(store);
  } finally {
    await cleanUp(suite, store, prefix);
  }
}

/** Runs `fn` on two stores with two different prefixes (random unless given), as makeStore builds them on one backend. */
export async function withTwoStores(
  suite: Suite,
  fn: (a: SessionStore, b: SessionStore) => Promise<void>,
  prefixes: readonly [string, string] = [randomPrefix(suite), randomPrefix(suite)],
): Promise<void> {
  const a = await suite.makeStore({ prefix: prefixes[0] });
  try {
    const b = await suite.makeStore({ prefix: prefixes[1] });
    try {
      await fn(a, b);
    } finally {
      await cleanUp(suite, b, prefixes[1]);
    }
  } finally {
    await cleanUp(suite, a, prefixes[0]);
  }
}

// Clearing keeps shared servers tidy. A store the test closed cannot clear what it wrote before
// closing: a fresh store on the same prefix does.
async function cleanUp(suite: Suite, store: SessionStore, prefix: string): Promise<void> {
  try {
    await store.clear?.();
  } catch {
    await clearAnew(suite, prefix).catch(() => {
      // the backend's own failure, which the test already reports
    });
  }
  await store.close();
}

async function clearAnew(suite: Suite, prefix: string): Promise<void> {
  const again = await suite.makeStore({ prefix });
  try {
    await again.clear?.();
  } finally {
    await again.close();
  }
}

/**
 * Registers a race test on a fresh store, or not at all when `concurrency: false`. A store that
 * declares `atomic: false` fails these unless it opts out: a silent pass would be a skip in disguise.
 */
export function raceTest(
  suite: Suite,
  name: string,
  fn: (store: SessionStore) => Promise<void>,
): void {
  if (suite.options.concurrency === false) return;
  suite.test(name, () => withStore(suite, fn));
}

/** Waits until `Date.now()` has reached `deadline` plus the configured grace (timers can fire early). */
export async function waitPast(suite: Suite, deadline: number): Promise<void> {
  const target = deadline + (suite.options.expiryGraceMs ?? 0) + 1;
  while (Date.now() < target) await sleep(target - Date.now());
}

/** A deadline far enough ahead never to pass during a test. */
export const HOUR = 3_600_000;
/** Lifetime of an entry meant to expire: long enough for its one write to land on a loaded machine. */
export const SHORT_MS = 250;
/** Lifetime of an entry that must still be live for a second operation (a write, then a touch). */
export const TWO_STEP_MS = 750;

/** Creates `key` expiring `ms` after the moment just before the write; resolves that deadline. */
export async function createExpiring(
  store: SessionStore,
  key: string,
  value: string,
  ms = SHORT_MS,
): Promise<number> {
  const expiresAt = inMs(ms);
  assert.equal(await store.create(key, value, expiresAt), true);
  return expiresAt;
}

/** The store's optional `name` member, bound; fails the test with a clear message when the store lacks it. */
export function need<K extends 'prune' | 'count' | 'clear'>(
  store: SessionStore,
  name: K,
): NonNullable<SessionStore[K]> {
  const member = store[name];
  assert.ok(
    typeof member === 'function',
    `this test observes the store through the optional ${name}(); switch its group off if the store has none`,
  );
  return member.bind(store) as NonNullable<SessionStore[K]>;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Asserts that the store holds exactly `value` with `expiresAt` under `key`. */
export async function assertEntry(
  store: SessionStore,
  key: string,
  value: string,
  expiresAt: number,
): Promise<void> {
  assert.deepEqual(await store.get(key), { value, expiresAt });
}

/** Asserts that `key` reads as missing. */
export async function assertMissing(store: SessionStore, key: string): Promise<void> {
  assert.equal(await store.get(key), undefined);
}

/** A deadline `ms` from now, in whole milliseconds. */
export function inMs(ms: number): number {
  return Date.now() + ms;
}
