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

export type { ConformanceOptions, MakeStore, MakeStoreOptions, TestFn } from './types.js';

const DEFAULT_TIMEOUT_MS = 20_000;

/**
 * Registers the cross-store conformance tests for a SessionStore through the injected `it`
 * (vitest's, jest's or node:test's): `runStoreConformance(it, ({ prefix }) => createMyStore({ prefix }))`.
 * Each test builds its own store with `makeStore({ prefix })` under a random prefix, and clears and closes it.
 */
export function runStoreConformance(it: TestFn, makeStore: MakeStore, options: ConformanceOptions = {}): void {
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const suite: Suite = { makeStore, options, test: (name, fn) => it(name, fn, timeout) };
  if (options.basic !== false) basicTests(suite);
  if (options.expiry !== false) expiryTests(suite);
  if (options.touch !== false) touchTests(suite);
  if (options.conditional !== false) conditionalTests(suite);
  if (options.isolation !== false) isolationTests(suite);
  if (options.values !== false) valuesTests(suite);
  if (options.prune !== false) pruneTests(suite);
  if (options.close !== false) closeTests(suite);
  if (options.userIndex !== false) userIndexTests(suite);
}
