import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { StoreUnderTest } from '../helpers/stores.js';
import { STORES_UNDER_TEST } from '../helpers/stores.js';
import { DATABASE_URL, REDIS_URL, describeWithServer, randomPrefix } from '../helpers/services.js';
import { Client } from '../helpers/app.js';
import { fileTable } from '../helpers/pg-tables.js';
import { startChildApp, stopChildren } from './helpers/app-children.js';

/*
 * Two app processes (children running the TypeScript sources through the e2e loader hooks) share
 * one store by URL, as two instances behind a load balancer would. Concurrent writes are only
 * required of stores that declare `atomic: true`: the file store declares false, because only its
 * create is atomic across processes (a hard link refuses an existing name); its update is
 * read-then-rename and can lose a write to another process in between (see stores/file.ts).
 */
const ROUNDS = 100;
const SERVER = 'test/reliability/children/app-server.ts';
// Only a guard against a child that never comes up; not a speed assertion.
const START_LIMIT_MS = 30_000;
// The children's Postgres table: this file's own, never the default `kvsession`.
const TABLE = fileTable('mp');

const dir = mkdtempSync(join(tmpdir(), 'kvsession-multi-'));
// At the file's end: vitest's workers never saw the process's 'exit' event, and the directory stayed.
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The URL two processes use to reach the same data, per registered store; memory has none. */
const SHARED_URLS: Readonly<Record<string, (() => string) | null>> = {
  memory: null,
  file: () => `file://${join(dir, 'sessions')}`,
  sqlite: () => `sqlite://${join(dir, 'sessions.db')}`,
  redis: () => REDIS_URL,
  postgres: () => DATABASE_URL,
};

for (const target of STORES_UNDER_TEST) {
  const shared = SHARED_URLS[target.name];
  // null: in-process by definition, nothing to share; undefined: a new store, flagged by the test below.
  if (shared === null || shared === undefined) continue;
  const name = `two app processes on one ${target.name} store`;
  if (target.serverUrl === undefined) describe(name, () => multiProcessTests(target, shared));
  else await describeWithServer(name, target.serverUrl, () => multiProcessTests(target, shared));
}

it('every registered store that can be shared between processes has a shared URL here', () => {
  expect(STORES_UNDER_TEST.map((t) => t.name).filter((n) => SHARED_URLS[n] === undefined)).toEqual(
    [],
  );
});

/** A client for `baseUrl` holding the same cookies as `other` (the same browser, routed to another instance). */
function sameBrowser(other: Client, baseUrl: string): Client {
  const client = new Client(baseUrl);
  for (const [k, v] of other.jar) client.jar.set(k, v);
  return client;
}

function multiProcessTests(target: StoreUnderTest, sharedUrl: () => string): void {
  const children: ChildProcess[] = [];
  let urls: [string, string];
  beforeAll(async () => {
    const url = sharedUrl();
    const prefix = randomPrefix(`mp-${target.name}`);
    const start = (): Promise<string> =>
      startChildApp(SERVER, [url, prefix, TABLE], { children, startLimitMs: START_LIMIT_MS });
    urls = (await Promise.all([start(), start()])) as [string, string];
  }, START_LIMIT_MS * 2);
  afterAll(() => stopChildren(children));

  it('a session created through one process is read, changed and destroyed through the other', async () => {
    const a = new Client(urls[0]);
    expect((await a.post('/set/x/1')).status).toBe(200);
    const b = sameBrowser(a, urls[1]);
    expect((await b.get('/get/x')).json()).toEqual({ value: '1' });
    expect((await b.post('/set/y/2')).status).toBe(200);
    expect((await a.get('/all')).json()).toEqual({ x: '1', y: '2' });
    expect((await b.post('/destroy')).status).toBe(200);
    expect((await a.get('/get/x')).json()).toEqual({ value: null });
  });

  // Only promised by stores whose writes are atomic across processes: the file store's are not
  // (its README section says so), so the test is not registered for it rather than shown as skipped.
  if (target.atomicAcrossProcesses)
    it(`${ROUNDS} rounds of concurrent writes of different keys, one through each process: 0 lost`, async () => {
      const a = new Client(urls[0]);
      onTestFinished(async () => void (await a.post('/destroy')));
      await a.post('/set/init/1');
      const b = sameBrowser(a, urls[1]);
      const statuses: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const replies = await Promise.all([a.post(`/race/a${round}`), b.post(`/race/b${round}`)]);
        statuses.push(...replies.map((r) => r.status));
      }
      const all = (await a.get('/all')).json<Record<string, number>>();
      const lost = [...Array(ROUNDS).keys()]
        .flatMap((r) => [`a${r}`, `b${r}`])
        .filter((k) => typeof all[k] !== 'number');
      expect({ lost, non200: statuses.filter((s) => s !== 200) }).toEqual({ lost: [], non200: [] });
      // Both processes really wrote: the values are two different pids.
      expect(
        new Set(
          Object.entries(all)
            .filter(([k]) => k !== 'init')
            .map(([, pid]) => pid),
        ).size,
      ).toBe(2);
    }, 120_000);
}
