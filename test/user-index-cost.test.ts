import { describe, expect, it } from 'vitest';
import type { StoreUnderTest } from './helpers/stores.js';
import type { SessionStore, StoreEntry } from '../src/store.js';
import type { StoreOp } from './helpers/counting-store.js';
import { STORES_UNDER_TEST } from './helpers/stores.js';
import { describeWithServer } from './helpers/services.js';
import { CountingStore } from './helpers/counting-store.js';
import { loginPath, randomUser, startUserApp } from './helpers/user-sessions-helpers.js';
import type { Client, TestApp } from './helpers/app.js';
import { TEST_SECRET } from './helpers/app.js';
import { UserIndex } from '../src/user-index.js';
import { encodeRecord } from '../src/record.js';
import type { RecordCodec } from '../src/record-codec.js';
import { PLAIN_CODEC, SealingCodec } from '../src/record-codec.js';
import { createSessionId, storeKeyFor } from '../src/id.js';

const HOUR = 3_600_000;
// The size; seeded straight into the store, in parallel batches.
const MANY = 10_000;
const SEED_BATCH = 200;

// Sealed index and session records (sealRecords) cost more bytes, never more round trips.
for (const target of STORES_UNDER_TEST) {
  for (const sealed of [false, true]) {
    const name = `user index cost does not grow with the user's session count, on ${target.name}${sealed ? ' with sealRecords' : ''}`;
    if (target.serverUrl === undefined) describe(name, () => costTests(target, sealed));
    else await describeWithServer(name, target.serverUrl, () => costTests(target, sealed));
  }
}

/** What one request cost: store operations by name, and bytes of keys and values sent and received. */
interface Cost {
  readonly ops: Partial<Record<StoreOp, number>>;
  readonly bytes: number;
}

function costTests(target: StoreUnderTest, sealed: boolean): void {
  const codec = sealed ? new SealingCodec([TEST_SECRET]) : PLAIN_CODEC;
  it(`login, save and logout cost the same store round trips, and at most 2× the bytes, for a user with ${MANY} live sessions as with 1`, async () => {
    const store = new ByteCountingStore(await target.make());
    const app = await startUserApp(store, { maxSessionsPerUser: false, sealRecords: sealed });
    const [few, many] = [randomUser('one'), randomUser('many')];
    await seed(store.inner, codec, few, 1);
    await seed(store.inner, codec, many, MANY);
    expect(await store.inner.count?.()).toBe(MANY + 1);
    const small = await lifecycle(app, store, few);
    const large = await lifecycle(app, store, many);
    for (const step of ['login', 'save', 'logout'] as const) {
      expect({ step, ops: large[step].ops }).toEqual({ step, ops: small[step].ops });
      expect(large[step].bytes).toBeLessThanOrEqual(2 * small[step].bytes);
    }
    // The seeded index is readable in this mode, so the costs above are those of a real index.
    expect(await app.sessions.listUserSessions(few)).toHaveLength(1);
    // The exact round trips, so a regression to a per-session cost shows here first; the same with sealed records.
    expect(small.login.ops).toEqual({ get: 1, create: 2, update: 1 });
    // The touch extends the session's slot: a save must never let the slot expire before its session.
    expect(small.save.ops).toEqual({ get: 1, update: 1, touch: 1 });
    expect(small.logout.ops).toEqual({ get: 1, delete: 2 });
  }, 300_000);
}

/** Logs a fresh client in as `userId`, saves one value, logs out; the cost of each step. */
async function lifecycle(
  app: TestApp,
  store: ByteCountingStore,
  userId: string,
): Promise<Record<'login' | 'save' | 'logout', Cost>> {
  const client = app.client();
  const login = await measure(store, client, loginPath(userId));
  const save = await measure(store, client, '/set/cart/apple');
  const logout = await measure(store, client, '/destroy');
  return { login, save, logout };
}

async function measure(store: ByteCountingStore, client: Client, path: string): Promise<Cost> {
  store.reset();
  expect((await client.post(path)).status).toBe(200);
  return { ops: store.nonZero(), bytes: store.bytes };
}

/** Binds `n` sessions to `userId` the way login() does (index first), `SEED_BATCH` at a time. */
async function seed(
  store: SessionStore,
  codec: RecordCodec,
  userId: string,
  n: number,
): Promise<void> {
  const index = new UserIndex(store, 24 * HOUR, Date.now, undefined, { codec });
  const now = Date.now();
  for (let done = 0; done < n; done += SEED_BATCH) {
    const batch = Array.from({ length: Math.min(SEED_BATCH, n - done) }, () =>
      storeKeyFor('', createSessionId()),
    );
    await Promise.all(
      batch.map(async (key) => {
        const { slot } = await index.bind(userId, key, now + 7 * 24 * HOUR);
        const record = codec.seal(key, encodeRecord({ createdAt: now, userId, slot, data: {} }));
        expect(await store.create(key, record, now + HOUR)).toBe(true);
      }),
    );
  }
}

/** CountingStore that also sums the bytes of every key and value sent to and received from the store. */
class ByteCountingStore extends CountingStore {
  bytes = 0;

  override reset(): void {
    super.reset();
    this.bytes = 0;
  }

  override async get(key: string): Promise<StoreEntry | undefined> {
    const entry = await super.get(key);
    this.bytes += size(key) + (entry === undefined ? 0 : size(entry.value));
    return entry;
  }

  override create(key: string, value: string, expiresAt: number): Promise<boolean> {
    this.bytes += size(key) + size(value);
    return super.create(key, value, expiresAt);
  }

  override update(
    key: string,
    expected: string,
    value: string,
    expiresAt: number,
  ): Promise<boolean> {
    this.bytes += size(key) + size(expected) + size(value);
    return super.update(key, expected, value, expiresAt);
  }

  override touch(key: string, expiresAt: number): Promise<boolean> {
    this.bytes += size(key);
    return super.touch(key, expiresAt);
  }

  override delete(key: string): Promise<boolean> {
    this.bytes += size(key);
    return super.delete(key);
  }
}

function size(text: string): number {
  return Buffer.byteLength(text);
}
