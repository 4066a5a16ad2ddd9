import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { SessionStore } from '../../../src/index.js';
import type { SessionRecord } from '../../../src/record.js';
import type { RecordCodec } from '../../../src/record-codec.js';
import type { IndexPolicy } from '../../../src/user-index.js';
import type { Head, Slot } from '../../../src/user-slots.js';
import { UserIndex } from '../../../src/user-index.js';
import { PLAIN_CODEC, SealingCodec } from '../../../src/record-codec.js';
import { encodeRecord } from '../../../src/record.js';
import {
  decodeHead,
  decodeSlot,
  encodeHead,
  encodeSlot,
  slotKey,
} from '../../../src/user-slots.js';
import type { Suite } from '../../../conformance/util.js';
import { HOUR, inMs, randomKey } from '../../../conformance/util.js';

/** The idle timeout the user-index tests run with. */
export const IDLE = HOUR;
/** The index's grace (the store timeout in the middleware): a slot younger than twice this may belong to a login in flight. */
export const GRACE = 2000;
/** The secret of the sealed run; any valid kvsession secret would do. */
export const SEAL_SECRET = 'conformance-seal-secret-0123456789abcdef';

/** A session written by writeSessions. */
export interface Written {
  readonly key: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/**
 * The records of the user index as the suite's mode keeps them: plain, or sealed (`sealRecords`) with
 * index names derived from the secret. Tests read and plant records only through this, so each runs in both modes.
 */
export interface IndexRecords {
  readonly codec: RecordCodec;
  /** A UserIndex over `store` in this mode. */
  newIndex(store: SessionStore, now?: () => number, policy?: IndexPolicy): UserIndex;
  /** The store text of a session record under `key`. */
  encode(key: string, record: SessionRecord): string;
  /** The store key of a user's index head (the one binds write to). */
  headKey(userId: string): string;
  /** The store key and text of a head / slot record of `userId`'s index. */
  head(userId: string, head: Head): [key: string, text: string];
  slot(userId: string, n: number, slot: Slot): [key: string, text: string];
  /** The session keys the slots of a user's index point at, in slot order, and its head. */
  read(store: SessionStore, userId: string): Promise<{ head: Head; keys: string[] }>;
  /** Writes `n` session records for `userId` with distinct createdAt (oldest first), each bound first as login() does. */
  writeSessions(
    store: SessionStore,
    index: UserIndex,
    userId: string,
    n: number,
  ): Promise<Written[]>;
}

/** The index records of the suite's mode (`options.sealRecords`). */
export function indexRecords(suite: Suite): IndexRecords {
  const codec: RecordCodec =
    suite.options.sealRecords === true ? new SealingCodec([SEAL_SECRET]) : PLAIN_CODEC;
  const headKey = (userId: string): string => codec.userKeys(userId)[0] as string;
  const encode = (key: string, record: SessionRecord): string =>
    codec.seal(key, encodeRecord(record));
  return {
    codec,
    headKey,
    encode,
    newIndex: (store, now = Date.now, policy = {}) =>
      new UserIndex(store, IDLE, now, GRACE, { ...policy, codec }),
    head: (userId, head) => [headKey(userId), codec.seal(headKey(userId), encodeHead(head))],
    slot: (userId, n, slot) => {
      const key = slotKey(headKey(userId), n);
      return [key, codec.seal(key, encodeSlot(slot))];
    },
    async read(store, userId) {
      const text = (await store.get(headKey(userId)))?.value;
      const head = decodeHead(
        text === undefined ? '' : (codec.open(headKey(userId), text) ?? 'not ours'),
      );
      assert.ok(!('legacy' in head));
      const keys: string[] = [];
      for (let n = head.lo; n < head.hi; n++) {
        const key = slotKey(headKey(userId), n);
        const entry = await store.get(key);
        const plain = entry === undefined ? undefined : codec.open(key, entry.value);
        const slot = plain === undefined ? undefined : decodeSlot(plain);
        if (slot !== undefined) keys.push(slot.key);
      }
      return { head, keys };
    },
    async writeSessions(store, index, userId, n) {
      const base = Date.now() - 60_000;
      const written: Written[] = [];
      for (let i = 0; i < n; i++) {
        const key = randomKey();
        const createdAt = base + i * 1000;
        const expiresAt = inMs(IDLE) + i;
        const { slot } = await index.bind(userId, key, createdAt + 7 * 24 * HOUR);
        assert.equal(
          await store.create(
            key,
            encode(key, { createdAt, userId, slot, data: { n: i } }),
            expiresAt,
          ),
          true,
        );
        written.push({ key, createdAt, expiresAt });
      }
      return written;
    },
  };
}

/** A fresh user id. */
export function randomUser(): string {
  return `user-${randomBytes(6).toString('hex')}`;
}
