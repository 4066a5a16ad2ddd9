/** A scale contender's data, seen from the runner: filled, measured and removed from outside the server. */
export interface Backend {
  /** Writes sessions from..to-1 of the population in the store's own format, expiring at `expiresAt`. */
  fill(from: number, to: number, expiresAt: number): Promise<void>;
  /** Bytes the store holds per session once `count` sessions are in it (see each backend for what is counted). */
  bytesPerSession(count: number): Promise<number>;
  /** Records in the store, expired ones included: checks that a prune removed what it should. */
  count(): Promise<number>;
  /** Removes everything this backend created; safe to call twice. */
  cleanup(): Promise<void>;
}

/** Splits from..to-1 into consecutive chunks of at most `size`. */
export function* chunks(from: number, to: number, size: number): Generator<[number, number]> {
  for (let start = from; start < to; start += size) yield [start, Math.min(to, start + size)];
}
