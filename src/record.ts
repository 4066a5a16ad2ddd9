import type { Encoded } from './serializer.js';
import { MAX_DEPTH, nestsDeeperThan } from './serializer.js';

/** A session record as kept in the store (data still in encoded form). */
export interface SessionRecord {
  /** When the session was created (ms); the absolute timeout counts from here. */
  readonly createdAt: number;
  /** The user the session is bound to by `login()`, if any. */
  readonly userId: string | undefined;
  /** The session data, one encoded value per key. */
  readonly data: Readonly<Record<string, Encoded>>;
}

/** Serializes a record to the exact text the store keeps. */
export function encodeRecord(record: SessionRecord): string {
  return JSON.stringify(record.userId === undefined ? { c: record.createdAt, d: record.data } : { c: record.createdAt, u: record.userId, d: record.data });
}

/** Parses store text into a record, or undefined when it is not a kvsession record (garbage, `{}`, foreign data). */
export function decodeRecord(text: string): SessionRecord | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const { c, u, d } = parsed as { c?: unknown; u?: unknown; d?: unknown };
  if (typeof c !== 'number' || !Number.isFinite(c)) return undefined;
  if (u !== undefined && typeof u !== 'string') return undefined;
  if (d === null || typeof d !== 'object' || Array.isArray(d)) return undefined;
  // Our writes nest at most MAX_DEPTH levels, plus one per tag wrapper; anything deeper came from elsewhere.
  if (nestsDeeperThan(d, 2 * MAX_DEPTH + 2)) return undefined;
  return { createdAt: c, userId: u, data: d as Record<string, Encoded> };
}
