import { existsSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStoreConformance } from '../../conformance/index.js';
import { createPostgresStore } from '../../stores/postgres.js';
import {
  DATABASE_URL,
  IN_CI,
  RUN_ID,
  describeWithServer,
  randomPrefix,
} from '../helpers/services.js';
import type { PgBouncer } from '../helpers/pgbouncer.js';
import { PGBOUNCER_BIN, startPgBouncer } from '../helpers/pgbouncer.js';

/*
 * Debian's PgBouncer 1.18 with its packaged pgbouncer.ini (only the database line, listen port,
 * trust auth and pool mode changed), started by this file on ports 6440-6442 and stopped at the end.
 */
const HOUR = 3_600_000;
const tables = [
  `kvsession_pgb_${RUN_ID}`,
  `kvsession_pgb_a_${RUN_ID}`,
  `kvsession_pgb_b_${RUN_ID}`,
] as const;

if (!existsSync(PGBOUNCER_BIN)) {
  // .ci/run installs it; elsewhere a missing PgBouncer is a stated skip, never a pass.
  if (IN_CI) throw new Error(`${PGBOUNCER_BIN} is missing: CI must install pgbouncer (.ci/run)`);
  describe.skip(`pgbouncer (skipped: ${PGBOUNCER_BIN} is not installed; apt-get install pgbouncer)`, () => {});
} else {
  await describeWithServer('postgres store through PgBouncer', DATABASE_URL, () => {
    afterAll(async () => {
      const admin = new pg.Client(DATABASE_URL);
      await admin.connect();
      for (const table of tables) await admin.query(`DROP TABLE IF EXISTS ${table}`);
      await admin.end();
    });
    describe('transaction mode, preparedStatements=false in the URL', () => {
      const bouncer = withBouncer(6440, 'transaction');
      runStoreConformance(
        it,
        ({ prefix }) =>
          createPostgresStore({
            url: `${bouncer().url}?preparedStatements=false`,
            table: tables[0],
            prefix,
            max: 4,
          }),
        { merge: true },
      );
    });
    describe('session mode, default options', () => {
      const bouncer = withBouncer(6441, 'session');
      const make = ({ prefix }: { prefix: string }) =>
        createPostgresStore({ url: bouncer().url, table: tables[0], prefix, max: 4 });
      runStoreConformance(it, make, { merge: true });
    });
    describe('transaction mode, two apps, default options', () => {
      // Two server connections for two apps of six clients each: every server connection is shared.
      const bouncer = withBouncer(6442, 'transaction', 2);
      it("two apps with different tables and prefixes never run each other's statements: every read right, no row lost", async () => {
        await twoApps(bouncer().url);
      }, 60_000);
    });
  });
}

/** Starts a PgBouncer for the enclosing describe and stops it after; the getter is valid inside tests. */
function withBouncer(
  port: number,
  poolMode: 'session' | 'transaction',
  defaultPoolSize?: number,
): () => PgBouncer {
  let bouncer: PgBouncer | undefined;
  beforeAll(async () => {
    bouncer = await startPgBouncer({
      port,
      poolMode,
      ...(defaultPoolSize === undefined ? {} : { defaultPoolSize }),
    });
  });
  afterAll(async () => {
    await bouncer?.stop();
  });
  return () => {
    if (bouncer === undefined) throw new Error('pgbouncer did not start');
    return bouncer;
  };
}

const KEYS = 60;
const ROUNDS = 5;

/**
 * App A only reads and compare-and-sets its keys; app B creates, reads and deletes its own. With
 * numbered statement names (the old code) A's reads ran B's DELETE. Every A read must return A's
 * value, and every A row must survive.
 */
async function twoApps(url: string): Promise<void> {
  // A generous timeout: this test is about which statement runs, not about latency on a busy machine.
  const a = createPostgresStore({
    url,
    table: tables[1],
    prefix: randomPrefix('pgb-a'),
    max: 6,
    timeout: 10_000,
  });
  const b = createPostgresStore({
    url,
    table: tables[2],
    prefix: randomPrefix('pgb-b'),
    max: 6,
    timeout: 10_000,
  });
  const keys = [...Array(KEYS).keys()].map((i) => `k${i}`);
  try {
    // Different first statements in each app, so numbered names would have meant different SQL.
    await Promise.all(keys.map((k) => a.create(k, `a:${k}:0`, Date.now() + HOUR)));
    await Promise.all(keys.map((k) => b.delete(k)));
    const wrong: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const appA = keys.map(async (k) => {
        const seen = (await a.get(k))?.value;
        if (seen !== `a:${k}:${round}`) wrong.push(`${k}@${round}: ${String(seen)}`);
        if (!(await a.update(k, `a:${k}:${round}`, `a:${k}:${round + 1}`, Date.now() + HOUR)))
          wrong.push(`${k}@${round}: update refused`);
      });
      const appB = keys.map(async (k) => {
        expect(await b.create(k, `b:${k}`, Date.now() + HOUR)).toBe(true);
        expect((await b.get(k))?.value).toBe(`b:${k}`);
        expect(await b.delete(k)).toBe(true);
      });
      await Promise.all([...appA, ...appB]);
    }
    expect(wrong).toEqual([]);
    expect(await a.count()).toBe(KEYS);
    expect(await b.count()).toBe(0);
    await a.clear();
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}
