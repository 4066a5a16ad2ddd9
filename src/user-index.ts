import type { SessionStore } from './store.js';
import type { RecordCodec } from './record-codec.js';
import type { Reserved, StoredSlot } from './user-head.js';
import type { Live, Scan, SessionInfo } from './user-scan.js';
import { PLAIN_CODEC } from './record-codec.js';
import { KeyedBatcher } from './keyed-batcher.js';
import { UserHeads, conflict } from './user-head.js';
import { READ_BATCH, UserScanner } from './user-scan.js';
import { slotKey } from './user-slots.js';

export type { SessionInfo } from './user-scan.js';
export { indexKey } from './user-slots.js';

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
  readonly #codec: RecordCodec;
  readonly #heads: UserHeads;
  readonly #scanner: UserScanner;
  /** Concurrent binds of one user in this process reserve their slots with one head write (keyed by index name). */
  readonly #reservations = new KeyedBatcher<Reserved>((name, count) =>
    this.#heads.reserve(name, count),
  );
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
  constructor(
    store: SessionStore,
    idleMs: number,
    now: () => number = Date.now,
    graceMs = 2000,
    policy: IndexPolicy = {},
  ) {
    this.#store = store;
    this.#idleMs = idleMs;
    this.#now = now;
    this.#graceMs = graceMs;
    this.#absoluteMs = policy.absoluteMs ?? WEEK_MS;
    this.#maxPerUser = policy.maxPerUser ?? Infinity;
    this.#codec = policy.codec ?? PLAIN_CODEC;
    this.#heads = new UserHeads(store, now, graceMs, this.#absoluteMs, this.#codec);
    this.#scanner = new UserScanner(store, this.#heads, this.#codec, idleMs, now, graceMs);
  }

  /**
   * Indexes a session BEFORE it is created: reserves a slot in the head, then writes the slot record
   * holding `sessionKey`. Once this resolves the session is findable by list/destroyAll; on failure it throws.
   * New sessions always go to the user's first index name (the first secret's, under sealRecords).
   */
  async bind(userId: string, sessionKey: string, deadline: number): Promise<Bound> {
    const name = this.#names(userId)[0] as string;
    // A reserved slot can be taken only by a record left from an index that expired and restarted its numbering: reserve again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const { slot, count, at } = await this.#reservations.submit(name);
      if (
        !(await this.#heads.writeSlot(
          name,
          slot,
          undefined,
          { key: sessionKey, at: this.#now() },
          this.#slotReach(deadline),
        ))
      )
        continue;
      // A scan may skip a reserved slot whose record is not written within 2 × graceMs of the reservation; give up well before.
      if (performance.now() - at <= 1.5 * this.#graceMs) return { slot, count };
      await this.#store.delete(slotKey(name, slot));
      throw conflict('the session index slot was written too late');
    }
    throw conflict('the reserved session index slots were taken');
  }

  /** Points a slot from `oldKey` to `newKey` (regenerate); false when the slot no longer holds `oldKey` (the session was ended). */
  async rebind(
    userId: string,
    slot: number,
    oldKey: string,
    newKey: string,
    deadline: number,
  ): Promise<boolean> {
    const found = await this.#find(userId, slot, oldKey);
    if (found === undefined) return false;
    return this.#heads.writeSlot(
      found.name,
      slot,
      found.stored.entry,
      { key: newKey, at: this.#now() },
      this.#slotReach(deadline),
    );
  }

  /** Frees the slot of session `sessionKey`; call only after deleting the session itself succeeded. */
  async unbind(userId: string, slot: number | undefined, sessionKey: string): Promise<void> {
    if (slot === undefined) return;
    const names = this.#names(userId);
    // One index name: slot numbers are unique in it, so no read is needed to know whose slot it is.
    if (names.length === 1) await this.#store.delete(slotKey(names[0] as string, slot));
    else {
      const found = await this.#find(userId, slot, sessionKey);
      if (found !== undefined) await this.#store.delete(slotKey(found.name, slot));
    }
  }

  /**
   * Called after a bound session's expiry moved forward: its slot must live at least as long, with one touch.
   * False when the slot is gone (the session was ended everywhere meanwhile): the caller must end the session.
   */
  async extend(
    userId: string,
    slot: number | undefined,
    sessionKey: string,
    deadline: number,
  ): Promise<boolean> {
    // A session bound before slots existed has none: its migrated slot already lasts to its absolute deadline.
    if (slot === undefined) return true;
    const names = this.#names(userId);
    if (names.length === 1)
      return this.#store.touch(slotKey(names[0] as string, slot), this.#slotReach(deadline));
    // While secrets rotate, slot `slot` exists under several names: touch only the one that is this session's.
    const found = await this.#find(userId, slot, sessionKey);
    return (
      found !== undefined && this.#store.touch(slotKey(found.name, slot), this.#slotReach(deadline))
    );
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
    const scans = await this.#scanAll(userId);
    // Indexes under older secrets hold sessions bound before the newest secret: they are older.
    const live = [...scans].reverse().flatMap((scan) => scan.live);
    const gone = await this.#end(live.slice(0, Math.max(0, live.length - this.#maxPerUser)));
    await Promise.all(scans.map((scan) => this.#compact(scan, gone)));
  }

  /** The user's live sessions, oldest first; costs one read for the head plus two per indexed session (per index name). */
  async list(userId: string): Promise<SessionInfo[]> {
    const scans = await this.#scanAll(userId);
    await Promise.all(scans.map((scan) => this.#compact(scan, new Set())));
    return scans
      .flatMap((scan) => scan.live.map((s) => s.info))
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  /** Ends all of a user's sessions but the one with handle `except`; resolves how many ended. */
  async destroyAll(userId: string, except?: string): Promise<number> {
    let ended = 0;
    for (let round = 0; round < MAX_DESTROY_ROUNDS; round++) {
      const scans = await this.#scanAll(userId);
      const targets = scans.flatMap((scan) => scan.live.filter((s) => s.info.handle !== except));
      const gone = await this.#end(targets);
      await Promise.all(scans.map((scan) => this.#compact(scan, gone)));
      ended += gone.size;
      // A target that was already gone may have moved to a new key (regenerate): look again.
      if (gone.size === targets.length) break;
    }
    return ended;
  }

  /** The store keys of a user's index heads, the one binds use first; several only while a sealing secret is rotated. */
  #names(userId: string): readonly string[] {
    return this.#codec.userKeys(userId);
  }

  /** The index whose slot `slot` holds `sessionKey`, with that slot as stored; one read per name tried. */
  async #find(
    userId: string,
    slot: number,
    sessionKey: string,
  ): Promise<{ name: string; stored: StoredSlot } | undefined> {
    for (const name of this.#names(userId)) {
      const stored = await this.#heads.readSlot(name, slot);
      if (stored?.slot?.key === sessionKey) return { name, stored };
    }
    return undefined;
  }

  /** Scans every index name of the user (one, unless a sealing secret is being rotated). */
  #scanAll(userId: string): Promise<Scan[]> {
    return Promise.all(this.#names(userId).map((name) => this.#scanner.scan(userId, name)));
  }

  /** Deletes the given sessions, then the slots of those this call deleted; resolves those slots' store keys. */
  async #end(targets: readonly Live[]): Promise<Set<string>> {
    const gone = new Set<string>();
    for (let i = 0; i < targets.length; i += READ_BATCH) {
      const batch = targets.slice(i, i + READ_BATCH);
      const deleted = await Promise.all(batch.map((s) => this.#store.delete(s.key)));
      const freed = batch.filter((_, j) => deleted[j] === true).map((s) => slotKey(s.name, s.slot));
      await Promise.all(freed.map((key) => this.#store.delete(key)));
      for (const key of freed) gone.add(key);
    }
    return gone;
  }

  /**
   * Deletes dead slots and moves the head past the leading unused ones, with an exact count; one
   * compare-and-set, skipped when a bind changed the head meanwhile (its slot may lie in what we saw as a gap).
   * `ended`: store keys of slots freed since the scan.
   */
  async #compact(scan: Scan, ended: ReadonlySet<string>): Promise<void> {
    for (let i = 0; i < scan.dead.length; i += READ_BATCH) {
      await Promise.all(
        scan.dead.slice(i, i + READ_BATCH).map((n) => this.#store.delete(slotKey(scan.name, n))),
      );
    }
    if (scan.entry === undefined) return;
    const kept = [
      ...scan.live.map((s) => s.slot).filter((n) => !ended.has(slotKey(scan.name, n))),
      ...scan.pending,
    ];
    const head = scan.head;
    // Slots reserved lately may not be written yet: never move past the first of them.
    const reserved = this.#now() - head.t < 2 * this.#graceMs ? head.f : head.hi;
    const lo = kept.reduce((min, n) => Math.min(min, n), Math.min(head.hi, reserved));
    if (lo === head.lo && kept.length === head.n) return;
    const empty = kept.length === 0 && lo === head.hi;
    const expiresAt = empty ? this.#now() + EMPTY_LINGER_MS : scan.entry.expiresAt;
    await this.#heads.write(scan.name, scan.entry, { ...head, lo, n: kept.length }, expiresAt);
  }

  /** A slot's expiry: its session's latest possible expiry if touched now, plus the grace for skew and late touches. */
  #slotReach(deadline: number): number {
    return Math.min(this.#now() + this.#idleMs, deadline) + this.#graceMs;
  }
}
