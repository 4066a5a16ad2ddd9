import { createHash } from 'node:crypto';
import type { SessionStore, StoreEntry } from './store.js';
import { INDEX_MARK } from './store.js';
import { KvSessionError } from './errors.js';
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

// The index maps a session's store key to that session's absolute deadline, the latest moment
// it can live: entries past it are dropped on every index write without reading the session.
type Members = Record<string, number>;

interface Live {
  readonly key: string;
  readonly info: SessionInfo;
}

const MAX_ATTEMPTS = 32;
// A session that vanishes between list and delete may have been regenerated into a new key
// bound meanwhile; destroyAll looks again this many times at most.
const MAX_DESTROY_ROUNDS = 4;
// An emptied index is written (not deleted) so a concurrent bind's compare-and-set still fails
// and retries; it then lingers this long.
const EMPTY_LINGER_MS = 1000;
// Session reads per batch while listing, so a user with many sessions cannot flood the store.
const READ_BATCH = 32;

/**
 * The per-user session index ("log out everywhere"), kept under its own key with conditional
 * writes. Its store expiry follows the idle deadlines of its sessions (bind and extend push it to
 * now + idle + grace), so it outlives the last of them by at most `graceMs`, never by days.
 */
export class UserIndex {
  readonly #store: SessionStore;
  readonly #idleMs: number;
  readonly #now: () => number;
  readonly #graceMs: number;

  /**
   * `idleMs` lets lastActiveAt be derived from a session's idle deadline. `graceMs` is how much
   * longer than a session the index is kept: it must cover two extends landing out of order and
   * clock skew between app servers, or a session could outlive the index that finds it.
   */
  constructor(store: SessionStore, idleMs: number, now: () => number = Date.now, graceMs = 2000) {
    this.#store = store;
    this.#idleMs = idleMs;
    this.#now = now;
    this.#graceMs = graceMs;
  }

  /** Adds a session to its user's index; concurrent binds of one user never lose an entry. */
  async bind(userId: string, sessionKey: string, deadline: number): Promise<void> {
    await this.#change(userId, this.#reach(), (members) => {
      members[sessionKey] = deadline;
    });
  }

  /** Removes a session from its user's index. */
  async unbind(userId: string, sessionKey: string): Promise<void> {
    await this.#change(userId, undefined, (members) => {
      delete members[sessionKey];
    });
  }

  /**
   * Called after a bound session's expiry moved forward: keeps the index alive at least as long,
   * with one touch. An index found missing is re-created, so the session stays findable.
   */
  async extend(userId: string, sessionKey: string, deadline: number): Promise<void> {
    if (await this.#store.touch(indexKey(userId), this.#reach())) return;
    await this.bind(userId, sessionKey, deadline);
  }

  /** The user's live sessions, oldest first; costs one read for the index plus one per indexed session. */
  async list(userId: string): Promise<SessionInfo[]> {
    const { live, stale } = await this.#read(userId);
    // Stale entries are dropped on read, so the index never outgrows the live sessions for long.
    if (stale.length > 0) await this.#forget(userId, stale);
    return live.map((s) => s.info);
  }

  /** Ends all of a user's sessions but the one with handle `except`; resolves how many ended. */
  async destroyAll(userId: string, except?: string): Promise<number> {
    let ended = 0;
    for (let round = 0; round < MAX_DESTROY_ROUNDS; round++) {
      const { live, stale } = await this.#read(userId);
      const targets = live.filter((s) => s.info.handle !== except).map((s) => s.key);
      const deleted = await Promise.all(targets.map((key) => this.#store.delete(key)));
      if (targets.length + stale.length > 0) await this.#forget(userId, [...targets, ...stale]);
      ended += deleted.filter(Boolean).length;
      if (deleted.every(Boolean)) break;
    }
    return ended;
  }

  async #read(userId: string): Promise<{ live: Live[]; stale: string[] }> {
    const entry = await this.#store.get(indexKey(userId));
    if (entry === undefined) return { live: [], stale: [] };
    const members = Object.entries(parseMembers(entry.value));
    const now = this.#now();
    const live: Live[] = [];
    const stale: string[] = [];
    for (let i = 0; i < members.length; i += READ_BATCH) {
      const batch = members.slice(i, i + READ_BATCH);
      const sessions = await Promise.all(batch.map(([key]) => this.#store.get(key)));
      batch.forEach(([key, deadline], j) => {
        const info = this.#describe(userId, key, deadline, sessions[j], now);
        if (info === undefined) stale.push(key);
        else live.push({ key, info });
      });
    }
    return { live: live.sort((a, b) => a.info.createdAt.getTime() - b.info.createdAt.getTime()), stale };
  }

  /** What to report about one indexed session, or undefined when it is gone or not this user's. */
  #describe(userId: string, key: string, deadline: number, session: StoreEntry | undefined, now: number): SessionInfo | undefined {
    if (session === undefined || now >= deadline || now >= session.expiresAt) return undefined;
    const record = decodeRecord(session.value);
    // A key planted in the index that points at someone else's session is never reported or ended.
    if (record === undefined || record.userId !== userId) return undefined;
    return {
      handle: handleFor(key),
      createdAt: new Date(record.createdAt),
      lastActiveAt: new Date(Math.min(now, Math.max(record.createdAt, session.expiresAt - this.#idleMs))),
      expiresAt: new Date(session.expiresAt),
    };
  }

  #forget(userId: string, keys: readonly string[]): Promise<void> {
    return this.#change(userId, undefined, (members) => {
      for (const key of keys) delete members[key];
    });
  }

  /** The index expiry that covers any session whose idle deadline is set now. */
  #reach(): number {
    return this.#now() + this.#idleMs + this.#graceMs;
  }

  /**
   * Read-modify-write of the index record with create-only / compare-and-set, retried on conflict.
   * The expiry only grows (to `reach` when given), except that an emptied index expires soon.
   */
  async #change(userId: string, reach: number | undefined, apply: (members: Members) => void): Promise<void> {
    const key = indexKey(userId);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (attempt >= 2) await pause(Math.random() * Math.min(50, 2 * attempt));
      const entry = await this.#store.get(key);
      const members = entry === undefined ? {} : parseMembers(entry.value);
      apply(members);
      const now = this.#now();
      // Entries past their absolute deadline go on every write, whether or not anyone lists.
      for (const [k, deadline] of Object.entries(members)) if (deadline <= now) delete members[k];
      const empty = Object.keys(members).length === 0;
      if (entry === undefined && empty) return;
      const value = JSON.stringify({ s: members });
      const expiresAt = empty ? now + EMPTY_LINGER_MS : Math.max(entry?.expiresAt ?? this.#reach(), reach ?? 0);
      if (entry !== undefined && value === entry.value && (empty || expiresAt === entry.expiresAt)) return;
      const written =
        entry === undefined
          ? await this.#store.create(key, value, expiresAt)
          : await this.#store.update(key, entry.value, value, expiresAt);
      if (written) return;
    }
    throw new KvSessionError('ERR_KVSESSION_CONFLICT', `the session index of a user kept changing under ${MAX_ATTEMPTS} attempts`, {
      status: 503,
    });
  }
}

/**
 * The store key of a user's index: `user:` + SHA-256 of the user id. Hashed so any user id
 * (long, or holding `:` or `/`) makes a safe key of fixed length; the `:` keeps it out of session counts.
 */
export function indexKey(userId: string): string {
  return `user${INDEX_MARK}${createHash('sha256').update(userId).digest('base64url')}`;
}

function parseMembers(text: string): Members {
  try {
    const parsed = JSON.parse(text) as { s?: unknown };
    const s = parsed.s;
    if (s === null || typeof s !== 'object' || Array.isArray(s)) return {};
    const out: Members = {};
    for (const [k, v] of Object.entries(s)) if (typeof v === 'number') out[k] = v;
    return out;
  } catch {
    return {};
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
