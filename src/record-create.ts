import type { SessionContext } from './context.js';
import type { SessionRecord } from './record.js';
import type { Loaded, Origin } from './session-types.js';
import { deadlineOf, encodeChecked } from './record-rules.js';

// Creating a session's record: plain, or bound to its user's index before its cookie can go out.

/** Creates the record under `key`; 'taken' when the key exists. */
export async function createRecord(
  ctx: SessionContext,
  key: string,
  record: SessionRecord,
): Promise<Loaded | 'taken'> {
  const plain = encodeChecked(ctx, record);
  const value = ctx.codec.seal(key, plain);
  const expiresAt = deadlineOf(ctx, ctx.now(), record.createdAt);
  return (await ctx.store.create(key, value, expiresAt))
    ? { key, entry: { value, expiresAt }, plain, record }
    : 'taken';
}

/**
 * Creates a bound record so that it is in its user's index before anyone can hold its cookie: a login
 * claims a slot first; a regenerate writes the record, then moves its slot to it ('ended' when the slot
 * was freed meanwhile, i.e. the session was ended everywhere). On failure nothing is left behind.
 */
export async function writeBound(
  ctx: SessionContext,

  key: string,
  base: SessionRecord,
  origin: Origin,
): Promise<Loaded | 'taken' | 'ended'> {
  const users = ctx.users;
  const userId = base.userId as string;
  const deadline = base.createdAt + ctx.absoluteMs;
  const previous = origin.kind === 'regenerate' ? origin.previous : undefined;
  const reuse = previous?.record.slot;
  const bound = reuse === undefined ? await users.bind(userId, key, deadline) : undefined;
  let made: Loaded | 'taken' | undefined;
  try {
    made = await createRecord(ctx, key, { ...base, slot: bound?.slot ?? reuse });
    if (made === 'taken') {
      if (bound !== undefined) await users.unbind(userId, bound.slot, key);
      return made;
    }
    if (bound !== undefined) await users.enforceCap(userId, bound);
    if (
      previous !== undefined &&
      reuse !== undefined &&
      !(await users.rebind(userId, reuse, previous.key, key, deadline))
    ) {
      await ctx.store.delete(key);
      return 'ended';
    }
    return made;
  } catch (err) {
    // Best effort: what is left (a slot without its session, or the reverse) expires, and list() drops it.
    if (made !== undefined && made !== 'taken') await ctx.store.delete(key).catch(() => false);
    if (bound !== undefined) await users.unbind(userId, bound.slot, key).catch(() => undefined);
    throw err;
  }
}

/** Deletes and unbinds a session this request has just created (its successor must not outlive an ended one). */
export async function deleteCreated(ctx: SessionContext, fresh: Loaded): Promise<void> {
  const existed = await ctx.store.delete(fresh.key);
  if (existed && fresh.record.userId !== undefined)
    await ctx.users.unbind(fresh.record.userId, fresh.record.slot, fresh.key);
}
