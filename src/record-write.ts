import type { SessionContext } from './context.js';
import type { SessionRecord } from './record.js';
import type { PendingChanges } from './pending-changes.js';
import type { Claim, Loaded, SaveOutcome } from './session-types.js';
import { KvSessionError } from './errors.js';
import { decodeRecord, decodeRecordCached, rememberRecord } from './record.js';
import { deadlineOf, encodeChecked, userFromData } from './record-rules.js';

// Saving a stored session's changes: merged per key onto whatever the store holds now.

// A conflicted save waits a random time below this cap (doubling from 2 ms) before it re-reads:
// overlapping writers spread out instead of colliding again in lockstep.
const MAX_BACKOFF_MS = 64;

/**
 * Applies `changes` onto the record stored under `base.key`, however others changed it meanwhile.
 * Uses no state of this request, since `changes` may be several requests' (see SaveCoalescer).
 */
export async function writeChanges(
  ctx: SessionContext,
  base: Loaded,
  changes: PendingChanges,
): Promise<SaveOutcome> {
  let loaded = base;
  // A slot in the index of the user userIdFrom names, claimed before any record names that user.
  let claim: Claim | undefined;
  // Conflicts are retried until storeTimeout has passed, not a fixed number of times: under heavy
  // overlap a fixed count of 16 failed 3.6–4.7% of saves although each retry was cheap.
  const giveUpAt = performance.now() + ctx.storeTimeoutMs;
  // A sealed record is opaque to the store, so it cannot merge into one.
  const serverMerge = ctx.codec.sealed ? undefined : ctx.store.mergeData;
  try {
    for (let attempt = 0; ; attempt++) {
      const data = changes.applyToData(loaded.record.data);
      // Built field by field: spreading a frozen (cached) record takes V8's slow path.
      const { createdAt, userId: storedUser, slot } = loaded.record;
      let record: SessionRecord =
        slot === undefined
          ? { createdAt, userId: storedUser, data }
          : { createdAt, userId: storedUser, slot, data };
      const userId = userFromData(ctx, data) ?? loaded.record.userId;
      if (userId !== undefined && userId !== loaded.record.userId) {
        claim = await claimSlot(ctx, claim, userId, loaded.key, record.createdAt);
        record = { ...record, userId, slot: claim.bound.slot };
      }
      const plain = encodeChecked(ctx, record);
      // Compared as plain text: sealing the same record twice never gives the same text.
      if (plain === loaded.plain) return { kind: 'unchanged', loaded };
      const expiresAt = deadlineOf(ctx, ctx.now(), record.createdAt);
      const value = ctx.codec.seal(loaded.key, plain);
      if (await ctx.store.update(loaded.key, loaded.entry.value, value, expiresAt)) {
        if (claim !== undefined && record.userId === claim.userId) {
          const moved = claim;
          claim = undefined;
          await recordMoved(ctx, loaded.key, loaded.record, moved);
        }
        // The next load reads this very text: it finds the record without parsing it again.
        rememberRecord(ctx.records, plain, record);
        return {
          kind: 'saved',
          loaded: { key: loaded.key, entry: { value, expiresAt }, plain, record },
        };
      }
      // Refused: another request changed the session since it was read. A store that merges on its
      // server applies our keys onto whatever it holds now, in one round trip, instead of a re-read and
      // a retry. It is not asked first: its merge costs PostgreSQL 3 to 4 times the CPU of the plain
      // compare-and-set that nearly every save gets through with (benchmarks/README.md).
      // A server-side merge changes data only, never the user a record names.
      const merged =
        attempt === 0 && serverMerge !== undefined && record.userId === loaded.record.userId
          ? await mergeOnServer(ctx, serverMerge, loaded.key, changes, expiresAt)
          : undefined;
      const pause = Math.random() * Math.min(MAX_BACKOFF_MS, 2 << Math.min(attempt, 5));
      const gaveUp = merged === undefined && performance.now() + pause >= giveUpAt;
      ctx.events?.emit({
        type: 'conflict',
        store: ctx.store.name,
        attempt,
        outcome: merged !== undefined ? 'merged' : gaveUp ? 'gave-up' : 'retry',
      });
      if (merged !== undefined) return { kind: 'saved', loaded: merged };
      if (gaveUp) break;
      await new Promise((resolve) => setTimeout(resolve, pause));
      // Another request changed or deleted the record since we read it: re-read and re-apply our keys.
      const entry = await ctx.store.get(loaded.key);
      const freshPlain = entry === undefined ? undefined : ctx.codec.open(loaded.key, entry.value);
      const fresh = freshPlain === undefined ? undefined : decodeRecord(freshPlain);
      if (entry === undefined || freshPlain === undefined || fresh === undefined)
        return { kind: 'gone' };
      loaded = { key: loaded.key, entry, plain: freshPlain, record: fresh };
    }
  } finally {
    // A claimed slot no saved record names: free it (best effort; an unnamed slot is dropped by list() anyway).
    if (claim !== undefined)
      await ctx.users.unbind(claim.userId, claim.bound.slot, base.key).catch(() => undefined);
  }
  const message = `the session kept changing for storeTimeout (${ctx.storeTimeoutMs} ms) of save attempts`;
  throw new KvSessionError('ERR_KVSESSION_CONFLICT', message, { status: 503 });
}

/**
 * userIdFrom moves a stored session to `userId`: a slot in that user's index comes first, so the session
 * is listed (and ended by "log out everywhere") from the moment its record names the user.
 */
async function claimSlot(
  ctx: SessionContext,

  claim: Claim | undefined,
  userId: string,
  key: string,
  createdAt: number,
): Promise<Claim> {
  if (claim?.userId === userId) return claim;
  if (claim !== undefined) await ctx.users.unbind(claim.userId, claim.bound.slot, key);
  return {
    userId,
    bound: await ctx.users.bind(userId, key, createdAt + ctx.absoluteMs),
  };
}

/** The record now names the claim's user: free the previous user's slot, then apply the new user's cap. */
async function recordMoved(
  ctx: SessionContext,
  key: string,
  previous: SessionRecord,
  claim: Claim,
): Promise<void> {
  // The previous user's list already drops this session (its record names someone else): freeing the slot is tidying.
  if (previous.userId !== undefined)
    await ctx.users.unbind(previous.userId, previous.slot, key).catch(() => undefined);
  await ctx.users.enforceCap(claim.userId, claim.bound);
}

/**
 * One round trip through the store's `mergeData`: no re-read, no second conflict. Undefined when the
 * store cannot (record gone or over maxSessionBytes, data it cannot merge): the re-read and
 * compare-and-set that follow then sort out which, with their exact errors.
 */
async function mergeOnServer(
  ctx: SessionContext,
  merge: NonNullable<SessionContext['store']['mergeData']>,
  key: string,
  changes: PendingChanges,
  expiresAt: number,
): Promise<Loaded | undefined> {
  const entry = await merge(key, changes.toDataChanges(), ctx.maxSessionBytes, expiresAt);
  // Cached: the next load of this session reads the same text back.
  const record = entry === undefined ? undefined : decodeRecordCached(ctx.records, entry.value);
  return entry === undefined || record === undefined
    ? undefined
    : { key, entry, plain: entry.value, record };
}
