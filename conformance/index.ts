import type { ConformanceOptions, MakeStore, TestFn } from './types.js';
import type { Suite } from './util.js';
import { basicTests } from './basic.js';
import { expiryTests } from './expiry.js';
import { touchTests } from './touch.js';
import { conditionalTests } from './conditional.js';
import { isolationTests } from './isolation.js';
import { valuesTests } from './values.js';
import { pruneTests } from './prune.js';
import { closeTests } from './close.js';
import { userIndexTests } from './user-index.js';
import { mergeTests } from './merge.js';

export type { ConformanceOptions, MakeStore, MakeStoreOptions, TestFn } from './types.js';

/** One behaviour group, registered through the injected `it` like runStoreConformance. */
export type ConformanceGroup = (
  it: TestFn,
  makeStore: MakeStore,
  options?: ConformanceOptions,
) => void;

const DEFAULT_TIMEOUT_MS = 20_000;

function suiteOf(it: TestFn, makeStore: MakeStore, options: ConformanceOptions): Suite {
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return { makeStore, options, test: (name, fn) => it(name, fn, timeout) };
}

function group(register: (suite: Suite) => void): ConformanceGroup {
  return (it, makeStore, options = {}) => register(suiteOf(it, makeStore, options));
}

/** get/create/delete round trips. */
export const runBasicTests = group(basicTests);
/** Entries past `expiresAt` are never returned and do not block create. */
export const runExpiryTests = group(expiryTests);
/** touch() moves the deadline without rewriting the value. */
export const runTouchTests = group(touchTests);
/** update() is a compare-and-set that never recreates a deleted entry. */
export const runConditionalTests = group(conditionalTests);
/** Two prefixes on one backend never see or delete each other's entries. */
export const runIsolationTests = group(isolationTests);
/** Values are opaque text that round-trips byte-exactly. */
export const runValuesTests = group(valuesTests);
/** prune() and count() (the optional tier). */
export const runPruneTests = group(pruneTests);
/** After close(), every operation rejects with ERR_KVSESSION_STORE_CLOSED. */
export const runCloseTests = group(closeTests);
/** kvsession's per-user index works over the store. */
export const runUserIndexTests = group(userIndexTests);
/** The optional server-side per-key merge (mergeData) works, byte-exact and under concurrency. */
export const runMergeTests = group(mergeTests);

/**
 * Registers the cross-store conformance tests for a SessionStore through the injected `it`
 * (vitest's, jest's or node:test's): `runStoreConformance(it, ({ prefix }) => createMyStore({ prefix }))`.
 * Each test builds its own store with `makeStore({ prefix })` under a random prefix, and clears and closes it.
 */
export function runStoreConformance(
  it: TestFn,
  makeStore: MakeStore,
  options: ConformanceOptions = {},
): void {
  const suite = suiteOf(it, makeStore, options);
  if (options.basic !== false) basicTests(suite);
  if (options.expiry !== false) expiryTests(suite);
  if (options.touch !== false) touchTests(suite);
  if (options.conditional !== false) conditionalTests(suite);
  if (options.isolation !== false) isolationTests(suite);
  if (options.values !== false) valuesTests(suite);
  if (options.prune !== false) pruneTests(suite);
  if (options.close !== false) closeTests(suite);
  if (options.userIndex !== false) userIndexTests(suite);
  if (options.merge === true) mergeTests(suite);
}
