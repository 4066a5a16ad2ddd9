import type { SessionStore, StoreEntry } from './store.js';
import type { RecordCodec } from './record-codec.js';
import type { Head } from './user-slots.js';
import type { UserHeads } from './user-head.js';
import { decodeRecord } from './record.js';
import { handleFor } from './id.js';

/** What listUserSessions reports about one live session; never its ID or store key. */
export interface SessionInfo {
  /** Opaque, stable handle; pass it as `except` to destroyUserSessions. */
  readonly handle: string;
  readonly createdAt: Date;
  /** Derived from the idle deadline, so accurate to within `touchInterval`. */
  readonly lastActiveAt: Date;
  readonly expiresAt: Date;
}

/** A live indexed session. */
export interface Live {
  /** The index (head key) its slot is in. */
  readonly name: string;
  readonly slot: number;
  readonly key: string;
  readonly info: SessionInfo;
}

/** One pass over the slots of one of a user's indexes. */
export interface Scan {
  /** The index: its head's store key. */
  readonly name: string;
  readonly entry: StoreEntry | undefined;
  readonly head: Head;
  /** In slot order, which is login order. */
  readonly live: Live[];
  /** Slots whose session does not exist yet: a login between indexing and creating it. */
  readonly pending: number[];
  /** Slots that point at nothing live; deleted by compact(). */
  readonly dead: number[];
}

/** Slot and session reads per batch, so a user with many sessions cannot flood the store. */
export const READ_BATCH = 32;

/** Reads one index of a user: its head, every slot it covers and the sessions they point at, opened with the codec. */
export class UserScanner {
  readonly #store: SessionStore;
  readonly #heads: UserHeads;
  readonly #codec: RecordCodec;
  readonly #idleMs: number;
  readonly #now: () => number;
  readonly #graceMs: number;

  /** Timing as UserIndex's: `idleMs` shapes lastActiveAt, a slot younger than 2 × `graceMs` may await its session. */
  constructor(
    store: SessionStore,
    heads: UserHeads,
    codec: RecordCodec,
    idleMs: number,
    now: () => number,
    graceMs: number,
  ) {
    this.#store = store;
    this.#heads = heads;
    this.#codec = codec;
    this.#idleMs = idleMs;
    this.#now = now;
    this.#graceMs = graceMs;
  }

  /** Reads every slot the head covers, with its session, in batches. */
  async scan(userId: string, name: string): Promise<Scan> {
    const { entry, head } = await this.#heads.read(name);
    const scan: Scan = { name, entry, head, live: [], pending: [], dead: [] };
    const now = this.#now();
    for (let first = head.lo; first < head.hi; first += READ_BATCH) {
      const numbers = Array.from(
        { length: Math.min(READ_BATCH, head.hi - first) },
        (_, i) => first + i,
      );
      const stored = await Promise.all(numbers.map((n) => this.#heads.readSlot(name, n)));
      const sessions = await Promise.all(
        stored.map((s) => (s?.slot === undefined ? undefined : this.#store.get(s.slot.key))),
      );
      numbers.forEach((n, i) => {
        if (stored[i] === undefined) return;
        // A slot that does not open or parse (forged, moved from another key) points at nothing: dead.
        const slot = stored[i]?.slot;
        const info =
          slot === undefined ? undefined : this.#describe(userId, n, slot.key, sessions[i], now);
        if (slot !== undefined && info !== undefined)
          scan.live.push({ name, slot: n, key: slot.key, info });
        // A bind writes its slot just before it creates the session; until then the slot must survive.
        // A bind writes its slot just before it creates the session, or (userIdFrom) just before the record names
        // the user; until then the slot must survive.
        else if (slot !== undefined && now - slot.at < 2 * this.#graceMs) scan.pending.push(n);
        else scan.dead.push(n);
      });
    }
    return scan;
  }

  /** What to report about one indexed session, or undefined when it is gone or not this user's (or not this slot's). */
  #describe(
    userId: string,
    slot: number,
    key: string,
    session: StoreEntry | undefined,
    now: number,
  ): SessionInfo | undefined {
    if (session === undefined || now >= session.expiresAt) return undefined;
    const plain = this.#codec.open(key, session.value);
    const record = plain === undefined ? undefined : decodeRecord(plain);
    // A slot planted in the index that points at someone else's session, or a second slot for one session, is ignored.
    if (
      record === undefined ||
      record.userId !== userId ||
      (record.slot !== undefined && record.slot !== slot)
    )
      return undefined;
    return {
      handle: handleFor(key),
      createdAt: new Date(record.createdAt),
      lastActiveAt: new Date(
        Math.min(now, Math.max(record.createdAt, session.expiresAt - this.#idleMs)),
      ),
      expiresAt: new Date(session.expiresAt),
    };
  }
}
