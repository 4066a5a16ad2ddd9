import type { SessionStore } from './store.js';
import type { Signer } from './signer.js';
import type { ResolvedCookieOptions } from './cookie.js';
import type { UserIndex } from './user-index.js';
import type { VerifiedCookies } from './verified-cookies.js';
import type { BoundedCache } from './bounded-cache.js';
import type { SessionRecord } from './record.js';
import type { RecordCodec } from './record-codec.js';
import type { SaveCoalescer } from './save-coalescer.js';
import type { SaveOutcome } from './session.js';
import type { StoreEventSink } from './store-events.js';

/** Everything a request's Session needs, resolved once per kvSession() call. */
export interface SessionContext {
  /** The store, already bounded by storeTimeout. */
  readonly store: SessionStore;
  readonly signer: Signer;
  /** Reads and verifies the session cookie (remembering recent verdicts). */
  readonly cookies: VerifiedCookies;
  readonly cookie: ResolvedCookieOptions;
  readonly idleMs: number;
  readonly absoluteMs: number;
  readonly touchMs: number;
  readonly maxSessionBytes: number;
  readonly onStoreError: 'error' | 'anonymous';
  /** storeTimeout: a save retrying a conflicted compare-and-set gives up after this long. */
  readonly storeTimeoutMs: number;
  /** The clock; injectable so tests can move time without sleeping. */
  readonly now: () => number;
  readonly users: UserIndex;
  /** How record text is kept in the store (plain, or sealed with sealRecords). */
  readonly codec: RecordCodec;
  /** Combines this process's concurrent saves of one record (see SaveCoalescer). */
  readonly saves: SaveCoalescer<SaveOutcome>;
  /** Recently decoded records by their plain text (see decodeRecordCached). */
  readonly records: BoundedCache<string, SessionRecord>;
  /** Finds the user a session belongs to in its data, evaluated on every save that writes (see KvSessionOptions). */
  readonly userIdFrom?: UserIdFrom | undefined;
  /** Where conflicts are reported (onStoreEvent, DEBUG=kvsession); undefined when nothing listens. */
  readonly events?: StoreEventSink | undefined;
}

/** Names the user a session's data belongs to (e.g. Passport's `data.passport?.user`), or undefined for none. */
export type UserIdFrom = (data: Readonly<Record<string, unknown>>) => string | number | undefined;
