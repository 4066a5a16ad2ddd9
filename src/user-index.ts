import { createHash } from 'node:crypto';
import type { SessionStore } from './store.js';
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

// The index maps a session's store key to the latest moment that session can live
// (its absolute deadline), so the index record never needs a write when a session is touched.
type Members = Record<string, number>;

const MAX_ATTEMPTS = 32;

/** The per-user session index ("log out everywhere"), kept under its own key with conditional writes. */
export class UserIndex {
  readonly #store: SessionStore;
  readonly #idleMs: number;
  readonly #now: () => number;

  /** `idleMs` lets lastActiveAt be derived from a session's idle deadline. */
  constructor(store: SessionStore, idleMs: number, now: () => number = Date.now) {
    this.#store = store;
    this.#idleMs = idleMs;
    this.#now = now;
  }

  /** Adds a session to its user's index; concurrent binds of one user never lose an entry. */
  async bind(userId: string, sessionKey: string, deadline: number): Promise<void> {
    await this.#change(userId, (members) => {
      members[sessionKey] = deadline;
    });
  }

  /** Removes a session from its user's index. */
  async unbind(userId: string, sessionKey: string): Promise<void> {
    await this.#change(userId, (members) => {
      delete members[sessionKey];
    });
  }

  /** The user's live sessions; costs one read for the index plus one per indexed session. */
  async list(userId: string): Promise<SessionInfo[]> {
    return (await this.#live(userId)).map((s) => s.info);
  }

  /** Ends all of a user's sessions but the one with handle `except`; resolves how many ended. */
  async destroyAll(userId: string, except?: string): Promise<number> {
    let ended = 0;
    const gone: string[] = [];
    for (const { key, info } of await this.#live(userId)) {
      if (info.handle === except) continue;
      if (await this.#store.delete(key)) ended++;
      gone.push(key);
    }
    if (gone.length > 0) {
      await this.#change(userId, (members) => {
        for (const key of gone) delete members[key];
      });
    }
    return ended;
  }

  async #live(userId: string): Promise<{ key: string; info: SessionInfo }[]> {
    const entry = await this.#store.get(indexKey(userId));
    if (entry === undefined) return [];
    const members = parseMembers(entry.value);
    const live: { key: string; info: SessionInfo }[] = [];
    const stale: string[] = [];
    for (const key of Object.keys(members)) {
      const session = await this.#store.get(key);
      const record = session === undefined ? undefined : decodeRecord(session.value);
      if (session === undefined || record === undefined || record.userId !== userId) {
        stale.push(key);
        continue;
      }
      const lastActive = Math.min(this.#now(), Math.max(record.createdAt, session.expiresAt - this.#idleMs));
      live.push({
        key,
        info: {
          handle: handleFor(key),
          createdAt: new Date(record.createdAt),
          lastActiveAt: new Date(lastActive),
          expiresAt: new Date(session.expiresAt),
        },
      });
    }
    // Stale entries are dropped on read, so the index never outgrows the live sessions for long.
    if (stale.length > 0) {
      await this.#change(userId, (m) => {
        for (const key of stale) delete m[key];
      });
    }
    return live.sort((a, b) => a.info.createdAt.getTime() - b.info.createdAt.getTime());
  }

  /** Read-modify-write of the index record with create-only / compare-and-set, retried on conflict. */
  async #change(userId: string, apply: (members: Members) => void): Promise<void> {
    const key = indexKey(userId);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const entry = await this.#store.get(key);
      const members = entry === undefined ? {} : parseMembers(entry.value);
      apply(members);
      const now = this.#now();
      for (const [k, deadline] of Object.entries(members)) if (deadline <= now) delete members[k];
      const value = JSON.stringify({ s: members });
      if (entry !== undefined && value === entry.value) return;
      // The index lives as long as its longest-lived member; an empty one lingers a second.
      const expiresAt = Math.max(now + 1000, ...Object.values(members));
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

/** The store key of a user's index: `user:` + SHA-256 of the user id (the `:` keeps it out of session counts). */
export function indexKey(userId: string): string {
  return 'user:' + createHash('sha256').update(userId).digest('base64url');
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
