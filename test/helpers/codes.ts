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

/** What `promise` rejected with (its name and code), or `{ name: 'resolved' }` when it did not reject. */
export async function rejectionOf(
  promise: Promise<unknown>,
): Promise<{ name?: unknown; code?: unknown }> {
  return promise.then(
    () => ({ name: 'resolved' }),
    (err: { name?: unknown; code?: unknown }) => err,
  );
}
