import type { SessionContext } from './context.js';
import type { StoreEntry } from './store.js';
import type { Loaded } from './session-types.js';
import { decodeRecordCached } from './record.js';

/**
 * The live session under `key` from the store's `entry`, or undefined when it is not ours (a sealed
 * record that does not open: forged, moved from another key, other secret), corrupt, or past a
 * deadline the store did not enforce.
 */
export function liveRecord(
  ctx: SessionContext,
  key: string,
  entry: StoreEntry | undefined,
): Loaded | undefined {
  if (entry === undefined) return undefined;
  const plain = ctx.codec.open(key, entry.value);
  const record = plain === undefined ? undefined : decodeRecordCached(ctx.records, plain);
  const now = ctx.now();
  if (
    plain === undefined ||
    record === undefined ||
    now >= entry.expiresAt ||
    now >= record.createdAt + ctx.absoluteMs
  )
    return undefined;
  return { key, entry, plain, record };
}
