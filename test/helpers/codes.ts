import { expect } from 'vitest';
import { KvSessionError } from '../../src/errors.js';

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
