import type { SessionStore, StoreEntry } from './store.js';
import type { RecordCodec } from './record-codec.js';
import type { Head } from './user-slots.js';
import type { Reserved } from './user-head.js';
import { decodeRecord } from './record.js';
import { handleFor } from './id.js';
import { KeyedBatcher } from './keyed-batcher.js';
import { UserHeads, conflict } from './user-head.js';
import { decodeSlot, encodeSlot, slotKey } from './user-slots.js';

export { indexKey } from './user-slots.js';

/** What listUserSessions reports about one live session; never its ID or store key. */
export interface SessionInfo {
  /** Opaque, stable handle; pass it as `except` to destroyUserSessions. */
  readonly handle: string;
  readonly createdAt: Date;
  /** Derived from the idle deadline, so accurate to within `touchInterval`. */
  readonly lastActiveAt: Date;
  readonly expiresAt: Date;
}

/** Limits of a UserIndex beyond its timing. */
export interface IndexPolicy {
  /** The absolute timeout: a head outlives the user's last login by this much. @default 7 days */
  readonly absoluteMs?: number;
  /** Beyond this many sessions, enforceCap() ends the user's oldest. @default Infinity */
  readonly maxPerUser?: number;
  /** How index and session records are kept (sealRecords). @default PLAIN_CODEC */
  readonly codec?: RecordCodec;
}

/** A slot bound by bind(): its number and how many sessions the user may now hold (an upper bound). */
export interface Bound {
  readonly slot: number;
  readonly count: number;
}

/** A live indexed session. */
interface Live {
  readonly slot: number;
  readonly key: string;
  readonly info: SessionInfo;
}

/** One pass over a user's slots. */
interface Scan {
  readonly entry: StoreEntry | undefined;
  readonly head: Head;
  /** In slot order, which is login order. */
  readonly live: Live[];
  /** Slots whose session does not exist yet: a login between indexing and creating it. */
  readonly pending: number[];
  /** Slots that point at nothing live; deleted by compact(). */
  readonly dead: number[];
}

// Slot and session reads per batch, so a user with many sessions cannot flood the store.
const READ_BATCH = 32;
// A session that vanishes between list and delete may have been regenerated meanwhile; destroyAll looks again this many times.
const MAX_DESTROY_ROUNDS = 4;
// An emptied head is written (not deleted) so a concurrent bind's compare-and-set still fails and retries; it lingers this long.
const EMPTY_LINGER_MS = 1000;
const WEEK_MS = 7 * 24 * 3600_000;

/**
 * The per-user session index ("log out everywhere"): a fixed-size head plus one slot record per
 * session (see user-slots.ts), so bind, extend and unbind cost O(1) store operations and bytes
 * whatever the user's session count; list and destroyAll read the slots, O(sessions).
 * Slot records expire with their session (plus `graceMs`); the head outlives the last login by the absolute timeout.
 */
export class UserIndex {
  readonly #store: SessionStore;
  readonly #idleMs: number;
  readonly #now: () => number;
  readonly #graceMs: number;
  readonly #absoluteMs: number;
  readonly #maxPerUser: number;
  readonly #heads: UserHeads;
  /** Concurrent binds of one user in this process reserve their slots with one head write. */
  readonly #reservations = new KeyedBatcher<Reserved>((userId, count) => this.#heads.reserve(userId, count));
  /** Concurrent logins of one user past the cap share one scan instead of one each. */
  readonly #trims = new KeyedBatcher<void>(async (userId, count) => {
    await this.#trim(userId);
    return new Array<void>(count).fill(undefined);
  });

  /**
   * `idleMs` lets lastActiveAt be derived from a session's idle deadline. `graceMs` (the store timeout) is how
   * much longer than its session a slot is kept, how long a slot may wait for its session to be created, and
   * how long bind() keeps retrying under contention.
   */
  constructor(store: SessionStore, idleMs: number, now: () => number = Date.now, graceMs = 2000, policy: IndexPolicy = {}) {
    this.#store = store;
    this.#idleMs = idleMs;
    this.#now = now;
    this.#graceMs = graceMs;
    this.#absoluteMs = policy.absoluteMs ?? WEEK_MS;
    this.#maxPerUser = policy.maxPerUser ?? Infinity;
    this.#heads = new UserHeads(store, now, graceMs, this.#absoluteMs);
  }

  /**
   * Indexes a session BEFORE it is created: reserves a slot in the head, then writes the slot record
   * holding `sessionKey`. Once this resolves the session is findable by list/destroyAll; on failure it throws.
   */
  async bind(userId: string, sessionKey: string, deadline: number): Promise<Bound> {
    // A reserved slot can be taken only by a record left from an index that expired and restarted its numbering: reserve again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const { slot, count, at } = await this.#reservations.submit(userId);
      const value = encodeSlot({ key: sessionKey, at: this.#now() });
      if (!(await this.#store.create(slotKey(userId, slot), value, this.#slotReach(deadline)))) continue;
      // A scan may skip a reserved slot whose record is not written within 2 × graceMs of the reservation; give up well before.
      if (performance.now() - at <= 1.5 * this.#graceMs) return { slot, count };
      await this.#store.delete(slotKey(userId, slot));
      throw conflict('the session index slot was written too late');
    }
    throw conflict('the reserved session index slots were taken');
  }

  /** Points a slot from `oldKey` to `newKey` (regenerate); false when the slot no longer holds `oldKey` (the session was ended). */
  async rebind(userId: string, slot: number, oldKey: string, newKey: string, deadline: number): Promise<boolean> {
    const key = slotKey(userId, slot);
    const entry = await this.#store.get(key);
    if (entry === undefined || decodeSlot(entry.value)?.key !== oldKey) return false;
    return this.#store.update(key, entry.value, encodeSlot({ key: newKey, at: this.#now() }), this.#slotReach(deadline));
  }

  /** Frees a session's slot; call only after deleting the session itself succeeded. */
  async unbind(userId: string, slot: number | undefined): Promise<void> {
    if (slot !== undefined) await this.#store.delete(slotKey(userId, slot));
  }

  /**
   * Called after a bound session's expiry moved forward: its slot must live at least as long, with one touch.
   * False when the slot is gone (the session was ended everywhere meanwhile): the caller must end the session.
   */
  async extend(userId: string, slot: number | undefined, deadline: number): Promise<boolean> {
    // A session bound before slots existed has none: its migrated slot already lasts to its absolute deadline.
    if (slot === undefined) return true;
    return this.#store.touch(slotKey(userId, slot), this.#slotReach(deadline));
  }

  /**
   * After a bind whose session now exists: if the user may be past maxPerUser, ends the oldest sessions
   * (by login order) beyond it. The caller's own session is the newest, so it ends only if at least
   * maxPerUser logins of the same user raced it.
   */
  async enforceCap(userId: string, bound: Bound): Promise<void> {
    if (bound.count > this.#maxPerUser) await this.#trims.submit(userId);
  }

  async #trim(userId: string): Promise<void> {
    const scan = await this.#scan(userId);
    const victims = scan.live.slice(0, Math.max(0, scan.live.length - this.#maxPerUser));
    await this.#compact(userId, scan, await this.#end(userId, victims));
  }

  /** The user's live sessions, oldest first; costs one read for the head plus two per indexed session. */
  async list(userId: string): Promise<SessionInfo[]> {
    const scan = await this.#scan(userId);
    await this.#compact(userId, scan, new Set());
    return scan.live.map((s) => s.info).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  /** Ends all of a user's sessions but the one with handle `except`; resolves how many ended. */
  async destroyAll(userId: string, except?: string): Promise<number> {
    let ended = 0;
    for (let round = 0; round < MAX_DESTROY_ROUNDS; round++) {
      const scan = await this.#scan(userId);
      const targets = scan.live.filter((s) => s.info.handle !== except);
      const gone = await this.#end(userId, targets);
      await this.#compact(userId, scan, gone);
      ended += gone.size;
      // A target that was already gone may have moved to a new key (regenerate): look again.
      if (gone.size === targets.length) break;
    }
    return ended;
  }

  /** Reads every slot the head covers, with its session, in batches. */
  async #scan(userId: string): Promise<Scan> {
    const { entry, head } = await this.#heads.read(userId);
    const scan: Scan = { entry, head, live: [], pending: [], dead: [] };
    const now = this.#now();
    for (let first = head.lo; first < head.hi; first += READ_BATCH) {
      const numbers = Array.from({ length: Math.min(READ_BATCH, head.hi - first) }, (_, i) => first + i);
      const slots = await Promise.all(numbers.map((n) => this.#store.get(slotKey(userId, n))));
      const pointed = slots.map((s) => (s === undefined ? undefined : decodeSlot(s.value)));
      const sessions = await Promise.all(pointed.map((p) => (p === undefined ? undefined : this.#store.get(p.key))));
      numbers.forEach((n, i) => {
        const slot = pointed[i];
        if (slots[i] === undefined) return;
        const info = slot === undefined ? undefined : this.#describe(userId, n, slot.key, sessions[i], now);
        if (slot !== undefined && info !== undefined) scan.live.push({ slot: n, key: slot.key, info });
        // A bind writes its slot just before it creates the session, or (userIdFrom) just before the record names
        // the user; until then the slot must survive.
        else if (slot !== undefined && now - slot.at < 2 * this.#graceMs) scan.pending.push(n);
        else scan.dead.push(n);
      });
    }
    return scan;
  }

  /** What to report about one indexed session, or undefined when it is gone or not this user's (or not this slot's). */
  #describe(userId: string, slot: number, key: string, session: StoreEntry | undefined, now: number): SessionInfo | undefined {
    if (session === undefined || now >= session.expiresAt) return undefined;
    const record = decodeRecord(session.value);
    // A slot planted in the index that points at someone else's session, or a second slot for one session, is ignored.
    if (record === undefined || record.userId !== userId || (record.slot !== undefined && record.slot !== slot)) return undefined;
    return {
      handle: handleFor(key),
      createdAt: new Date(record.createdAt),
      lastActiveAt: new Date(Math.min(now, Math.max(record.createdAt, session.expiresAt - this.#idleMs))),
      expiresAt: new Date(session.expiresAt),
    };
  }

  /** Deletes the given sessions, then the slots of those this call deleted; resolves those slots. */
  async #end(userId: string, targets: readonly Live[]): Promise<Set<number>> {
    const gone = new Set<number>();
    for (let i = 0; i < targets.length; i += READ_BATCH) {
      const batch = targets.slice(i, i + READ_BATCH);
      const deleted = await Promise.all(batch.map((s) => this.#store.delete(s.key)));
      const freed = batch.filter((_, j) => deleted[j] === true);
      await Promise.all(freed.map((s) => this.#store.delete(slotKey(userId, s.slot))));
      for (const s of freed) gone.add(s.slot);
    }
    return gone;
  }

  /**
   * Deletes dead slots and moves the head past the leading unused ones, with an exact count; one
   * compare-and-set, skipped when a bind changed the head meanwhile (its slot may lie in what we saw as a gap).
   */
  async #compact(userId: string, scan: Scan, ended: ReadonlySet<number>): Promise<void> {
    for (let i = 0; i < scan.dead.length; i += READ_BATCH) {
      await Promise.all(scan.dead.slice(i, i + READ_BATCH).map((n) => this.#store.delete(slotKey(userId, n))));
    }
    if (scan.entry === undefined) return;
    const kept = [...scan.live.map((s) => s.slot).filter((n) => !ended.has(n)), ...scan.pending];
    const head = scan.head;
    // Slots reserved lately may not be written yet: never move past the first of them.
    const reserved = this.#now() - head.t < 2 * this.#graceMs ? head.f : head.hi;
    const lo = kept.reduce((min, n) => Math.min(min, n), Math.min(head.hi, reserved));
    if (lo === head.lo && kept.length === head.n) return;
    const empty = kept.length === 0 && lo === head.hi;
    const expiresAt = empty ? this.#now() + EMPTY_LINGER_MS : scan.entry.expiresAt;
    await this.#heads.write(userId, scan.entry, { ...head, lo, n: kept.length }, expiresAt);
  }

  /** A slot's expiry: its session's latest possible expiry if touched now, plus the grace for skew and late touches. */
  #slotReach(deadline: number): number {
    return Math.min(this.#now() + this.#idleMs, deadline) + this.#graceMs;
  }
}
