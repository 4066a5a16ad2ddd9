import type { Encoded } from './serializer.js';
import type { BoundedCache } from './bounded-cache.js';
import { MAX_DEPTH, nestsDeeperThan } from './serializer.js';

const DEPTH_LIMIT = 2 * MAX_DEPTH + 2;

/** A session record as kept in the store (data still in encoded form). */
export interface SessionRecord {
  /** When the session was created (ms); the absolute timeout counts from here. */
  readonly createdAt: number;
  /** The user the session is bound to by `login()`, if any. */
  readonly userId: string | undefined;
  /** The slot of the user index that lists this session (bound sessions only), so logout frees it in O(1). */
  readonly slot?: number | undefined;
  /** The session data, one encoded value per key. */
  readonly data: Readonly<Record<string, Encoded>>;
}

/** Serializes a record to the exact text the store keeps. */
export function encodeRecord(record: SessionRecord): string {
  if (record.userId === undefined) return JSON.stringify({ c: record.createdAt, d: record.data });
  return JSON.stringify({ c: record.createdAt, u: record.userId, i: record.slot, d: record.data });
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
  const { c, u, i, d } = parsed as { c?: unknown; u?: unknown; i?: unknown; d?: unknown };
  if (typeof c !== 'number' || !Number.isFinite(c)) return undefined;
  if (u !== undefined && typeof u !== 'string') return undefined;
  if (i !== undefined && (u === undefined || !Number.isSafeInteger(i) || (i as number) < 0))
    return undefined;
  if (d === null || typeof d !== 'object' || Array.isArray(d)) return undefined;
  // Our writes nest at most MAX_DEPTH levels, plus one per tag wrapper; anything deeper came from elsewhere.
  // Each level costs at least one bracket, so text this short cannot nest that deep: skip the walk.
  if (text.length > DEPTH_LIMIT && nestsDeeperThan(d, DEPTH_LIMIT)) return undefined;
  const data = d as Record<string, Encoded>;
  return i === undefined
    ? { createdAt: c, userId: u, data }
    : { createdAt: c, userId: u, slot: i as number, data };
}

// Longer records are parsed every time: holding them would let the cache grow past ~1 MB.
const CACHEABLE_LENGTH = 2048;

/**
 * decodeRecord, remembering recent results by their exact text: most loads read a record that has
 * not changed since the last request, and parsing it again was the largest cost of a read.
 * Records handed out are frozen, since one may be shared by every request that reads that text.
 */
export function decodeRecordCached(
  cache: BoundedCache<string, SessionRecord>,
  text: string,
): SessionRecord | undefined {
  const known = cache.get(text);
  if (known !== undefined) return known;
  const record = decodeRecord(text);
  if (record !== undefined) rememberRecord(cache, text, record);
  return record;
}

/**
 * Remembers `record` as what `text` decodes to, so the next load of that text skips the parse.
 * Only for a record `text` was encoded from (encodeRecord of canonical JSON data parses back equal).
 * Freezes the record: it may be shared by every request that reads that text.
 */
export function rememberRecord(
  cache: BoundedCache<string, SessionRecord>,
  text: string,
  record: SessionRecord,
): void {
  if (text.length > CACHEABLE_LENGTH) return;
  Object.freeze(record.data);
  cache.set(text, Object.freeze(record));
}
