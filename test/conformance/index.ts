import type { ConformanceOptions, MakeStore, TestFn } from './types.js';
import type { Suite } from './util.js';
import { basicTests } from './basic.js';

export type { ConformanceOptions, MakeStore, MakeStoreOptions, TestFn } from './types.js';

const DEFAULT_TIMEOUT_MS = 20_000;

/**
 * Registers the cross-store conformance tests for a SessionStore through the injected `it`.
 * Each test builds its own store with `makeStore({ prefix })` under a random prefix and closes it.
 */
export function runStoreConformance(it: TestFn, makeStore: MakeStore, options: ConformanceOptions = {}): void {
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const suite: Suite = { it, makeStore, options, test: (name, fn) => it(name, fn, timeout) };
  if (options.basic !== false) basicTests(suite);
}
