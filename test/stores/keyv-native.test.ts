import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Keyv from 'keyv';
import KeyvPostgres from '@keyv/postgres';
import KeyvSqlite from '@keyv/sqlite';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { runStoreConformance } from '../../conformance/index.js';
import { resolveStore } from '../../stores/index.js';
import {
  CONFORMANCE_PREFIX,
  DATABASE_URL,
  RUN_ID,
  describeWithServer,
  randomPrefix,
} from '../helpers/services.js';

const HOUR = 3_600_000;
// Every warning of this test process (one fork per file): the generic Keyv path must warn exactly once.
const warnings: { code?: unknown; message: string }[] = [];
process.on(
  'warning',
  (warning: Error & { code?: unknown }) =>
    void warnings.push({ code: warning.code, message: warning.message }),
);
const dir = mkdtempSync(join(tmpdir(), 'kvsession-keyv-native-'));
// At the file's end: vitest's workers never saw the process's 'exit' event, and the directory stayed.
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a Keyv over @keyv/sqlite', () => {
  // close() leaves the app's Keyv open, so the test disconnects every one it made.
  const made: Keyv[] = [];
  const keyv = (): Keyv => {
    const k = new Keyv({
      store: new KeyvSqlite({
        uri: `sqlite://${join(dir, 'keyv.db')}`,
        table: 'sessions',
        busyTimeout: 5000,
      }),
    });
    made.push(k);
    return k;
  };
  afterAll(async () => {
    for (const k of made) await k.disconnect();
  });

  runStoreConformance(it, ({ prefix }) => resolveStore(keyv(), { prefix }), {
    prefix: CONFORMANCE_PREFIX,
  });

  it("is recognised as atomic, and the app's Keyv reads what the store wrote under its namespace", async () => {
    const k = keyv();
    const prefix = randomPrefix('ksq');
    const store = resolveStore(k, { prefix });
    expect({ name: store.name, atomic: store.capabilities.atomic }).toEqual({
      name: 'keyv-sqlite',
      atomic: true,
    });
    expect(await store.create('sid1', '{"c":1,"d":{}}', Date.now() + HOUR)).toBe(true);
    expect(await k.get(`${prefix}sid1`)).toBe('{"c":1,"d":{}}');
    await store.clear?.();
    await store.close();
    // The app's Keyv is still usable after the session store closed.
    expect(await k.get('anything')).toBeUndefined();
  });
});

const table = `kvsession_keyv_${RUN_ID}`;
await describeWithServer('a Keyv over @keyv/postgres', DATABASE_URL, () => {
  // @keyv/postgres keeps one module-global pool for every Keyv on a URI: disconnecting one ends it for all.
  const made: Keyv[] = [];
  const keyv = (options: { serialize?: NonNullable<Keyv['serialize']> } = {}): Keyv => {
    const k = new Keyv({ store: new KeyvPostgres({ uri: DATABASE_URL, table }), ...options });
    made.push(k);
    return k;
  };
  afterAll(async () => {
    const admin = new pg.Client(DATABASE_URL);
    await admin.connect();
    await admin.query(`DROP TABLE IF EXISTS ${table}`);
    await admin.end();
    await made[0]?.disconnect();
  });

  runStoreConformance(it, ({ prefix }) => resolveStore(keyv(), { prefix }), {
    merge: true,
    prefix: CONFORMANCE_PREFIX,
  });

  it("is recognised as atomic, and the app's Keyv reads what the store wrote under its namespace", async () => {
    const k = keyv();
    const prefix = randomPrefix('kpg');
    const store = resolveStore(k, { prefix });
    const seen = { name: store.name, atomic: store.capabilities.atomic, prefix: store.prefix };
    expect(seen).toEqual({ name: 'keyv-postgres', atomic: true, prefix: `keyv:${prefix}` });
    expect(await store.create('sid1', '{"c":1,"d":{}}', Date.now() + HOUR)).toBe(true);
    expect(await k.get(`${prefix}sid1`)).toBe('{"c":1,"d":{}}');
    await store.clear?.();
    await store.close();
    expect(await k.get('anything')).toBeUndefined();
  });

  it('a Keyv with a serializer of its own is not served natively: it gets the generic, non-atomic store', () => {
    const store = resolveStore(keyv({ serialize: (data) => JSON.stringify(data) }), {
      prefix: randomPrefix('kpg'),
    });
    expect({ name: store.name, atomic: store.capabilities.atomic }).toEqual({
      name: 'keyv',
      atomic: false,
    });
  });
});

describe('any other Keyv', () => {
  it('logs one KVSESSION_KEYV_NOT_ATOMIC warning for the process, however many stores are built', async () => {
    for (let i = 0; i < 3; i++)
      expect(resolveStore(new Keyv(), { prefix: randomPrefix('map') }).capabilities.atomic).toBe(
        false,
      );
    await new Promise((resolve) => setImmediate(resolve));
    const ours = warnings.filter((w) => w.code === 'KVSESSION_KEYV_NOT_ATOMIC');
    expect(ours).toHaveLength(1);
    expect(ours[0]?.message).toMatch(/lose changes/);
  });
});
