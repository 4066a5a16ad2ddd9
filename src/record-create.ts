import type { SessionContext } from './context.js';
import type { Encoded } from './serializer.js';
import type { SessionRecord } from './record.js';
import type { Loaded, Origin } from './session-types.js';
import { KvSessionError } from './errors.js';
import { createSessionId, storeKeyFor } from './id.js';
import { deadlineOf, encodeChecked, userFromData } from './record-rules.js';

// Creating a session's record: plain, or bound to its user's index before its cookie can go out.

/** How a create call knows this request: the ID it promised, whether the cookie can still go out, and its change log to consume. */
export interface CreateContext {
  readonly reserved: string | undefined;
  readonly headersSent: boolean;
  /** Forgets the request's changes: they are in the new record, or there was nothing to store. */
  readonly consume: () => void;
}

/**
 * Stores `data` as a new session (under the reserved ID if any) and resolves its ID and record;
 * undefined when there is nothing to store, 'ended' when a regenerated session was ended meanwhile.
 */
export async function createSession(
  ctx: SessionContext,
  data: Map<string, Encoded>,
  origin: Origin,
  request: CreateContext,
): Promise<{ id: string; loaded: Loaded } | 'ended' | undefined> {
  let userId =
    origin.kind === 'login'
      ? origin.userId
      : origin.kind === 'regenerate'
        ? origin.previous.record.userId
        : undefined;
  // A visitor who sets nothing (or sets and deletes) gets neither a record nor a cookie.
  if (data.size === 0 && userId === undefined) {
    request.consume();
    return undefined;
  }
  if (request.headersSent) {
    // The cookie could never reach the client: a record created now would be unreachable debris.
    throw new KvSessionError(
      'ERR_KVSESSION_HEADERS_SENT',
      'a new session cannot start after the response headers were sent; set session values before writing the response',
      { status: 500 },
    );
  }
  const now = ctx.now();
  // Only login() starts a new absolute deadline: a periodic regenerate() must not make a session immortal.
  const createdAt = origin.kind === 'regenerate' ? origin.previous.record.createdAt : now;
  // userIdFrom binds a new session as login() would: in the user's index before its cookie goes out.
  userId ??= userFromData(ctx, data);
  const record: SessionRecord = { createdAt, userId, data: Object.fromEntries(data) };
  request.consume();
  // 256-bit IDs do not collide; a false here means a broken store, so one retry then fail.
  for (let attempt = 0; attempt < 2; attempt++) {
    const id =
      attempt === 0 && request.reserved !== undefined ? request.reserved : createSessionId();
    const key = storeKeyFor('', id);
    const made =
      userId === undefined
        ? await createRecord(ctx, key, record)
        : await writeBound(ctx, key, record, origin);
    if (made === 'taken') continue;
    return made === 'ended' ? made : { id, loaded: made };
  }
  throw new KvSessionError(
    'ERR_KVSESSION_CONFLICT',
    'the store refused to create a new session twice',
    {
      status: 503,
    },
  );
}

/** Creates the record under `key`; 'taken' when the key exists. */
async function createRecord(
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
async function writeBound(
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
