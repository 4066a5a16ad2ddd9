import type { SessionContext } from './context.js';
import type { Encoded } from './serializer.js';
import type { SessionRecord } from './record.js';
import { KvSessionError } from './errors.js';
import { decodeData } from './serializer.js';
import { encodeRecord } from './record.js';

// What every record a session writes must satisfy: its size cap, its deadline, and the user it names.

/** The record's text; throws ERR_KVSESSION_TOO_LARGE over maxSessionBytes. */
export function encodeChecked(ctx: SessionContext, record: SessionRecord): string {
  const value = encodeRecord(record);
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short text needs no byte count.
  if (value.length * 3 > ctx.maxSessionBytes && Buffer.byteLength(value) > ctx.maxSessionBytes) {
    throw new KvSessionError(
      'ERR_KVSESSION_TOO_LARGE',
      `the session would be ${Buffer.byteLength(value)} bytes, over maxSessionBytes (${ctx.maxSessionBytes})`,
      { status: 413 },
    );
  }
  return value;
}

/** The store expiry: the idle deadline, capped by the absolute one. */
export function deadlineOf(ctx: SessionContext, now: number, createdAt: number): number {
  return Math.min(now + ctx.idleMs, createdAt + ctx.absoluteMs);
}

/** The user `userIdFrom` finds in the data about to be saved, if the hook is set and finds one. */
export function userFromData(
  ctx: SessionContext,
  data: Map<string, Encoded> | Readonly<Record<string, Encoded>>,
): string | undefined {
  const hook = ctx.userIdFrom;
  if (hook === undefined) return undefined;
  const found: unknown = hook(decodeData(data));
  if (typeof found === 'string' && found !== '') return found;
  if (typeof found === 'number' && Number.isFinite(found)) return String(found);
  return undefined;
}
