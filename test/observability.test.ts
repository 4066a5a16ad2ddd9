import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { format, promisify } from 'node:util';
import createDebug from 'debug';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import type { StoreEntry } from '../src/store.js';
import type { StoreEvent } from '../src/store-events.js';
import { MemoryStore, createMemoryStore } from '../stores/memory.js';
import { CountingStore, RefusingStore } from './helpers/counting-store.js';
import { fileTable } from './helpers/pg-tables.js';
import { TEST_SECRET, startApp } from './helpers/app.js';
import { mountSessionRoutes } from './helpers/routes.js';
import { createPostgresStore } from '../stores/postgres.js';
import {
  DATABASE_URL,
  REDIS_URL,
  describeWithServer,
  randomPrefix,
  sparePort,
} from './helpers/services.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');

function recorder(): { events: StoreEvent[]; onStoreEvent: (event: StoreEvent) => void } {
  const events: StoreEvent[] = [];
  return { events, onStoreEvent: (event) => events.push(event) };
}

const ops = (events: StoreEvent[]): string[] =>
  events.flatMap((e) => (e.type === 'operation' ? [`${e.op}:${e.ok ? 'ok' : e.code}`] : []));

describe('onStoreEvent', () => {
  it('reports every store operation of a request with its latency and outcome (memory)', async () => {
    const { events, onStoreEvent } = recorder();
    const store = new CountingStore(createMemoryStore({ prefix: randomPrefix('obs') }));
    const app = await startApp({ session: { store, onStoreEvent }, routes: mountSessionRoutes });
    const client = app.client();
    expect((await client.post('/set/a/1')).status).toBe(200);
    expect((await client.get('/get/a')).json()).toEqual({ value: '1' });
    // One event per operation the store actually received, in order.
    expect(ops(events)).toEqual(['create:ok', 'get:ok']);
    expect(store.nonZero()).toEqual({ create: 1, get: 1 });
    for (const event of events) {
      expect(event).toMatchObject({ type: 'operation', store: 'memory', ok: true });
      expect(event.type === 'operation' && Number.isFinite(event.ms) && event.ms >= 0).toBe(true);
    }
  });

  it('reports a failing operation with ERR_KVSESSION_STORE_UNAVAILABLE and a hanging one with ERR_KVSESSION_STORE_TIMEOUT', async () => {
    const { events, onStoreEvent } = recorder();
    const store = new CountingStore(createMemoryStore({ prefix: randomPrefix('obs') }));
    const app = await startApp({
      session: { store, onStoreEvent, storeTimeout: 50 },
      routes: mountSessionRoutes,
    });
    const client = app.client();
    await client.post('/set/a/1');
    events.length = 0;
    store.fault('get', 'fail');
    expect((await client.get('/get/a')).status).toBe(503);
    store.fault('get', 'hang');
    expect((await client.get('/get/a')).status).toBe(503);
    expect(ops(events)).toEqual([
      'get:ERR_KVSESSION_STORE_UNAVAILABLE',
      'get:ERR_KVSESSION_STORE_TIMEOUT',
    ]);
    const timedOut = events[1];
    // The timeout's event comes when the request gave up waiting, not before.
    expect(timedOut?.type === 'operation' && timedOut.ms).toBeGreaterThanOrEqual(45);
    expect(app.errors.map((e) => e.code)).toEqual([
      'ERR_KVSESSION_STORE_UNAVAILABLE',
      'ERR_KVSESSION_STORE_TIMEOUT',
    ]);
  });

  it('reports each refused compare-and-set as a conflict, then the retry that succeeded', async () => {
    const { events, onStoreEvent } = recorder();
    const store = new RefusingStore(createMemoryStore({ prefix: randomPrefix('obs') }));
    const app = await startApp({ session: { store, onStoreEvent }, routes: mountSessionRoutes });
    const client = app.client();
    await client.post('/set/a/1');
    events.length = 0;
    store.refusals = 2;
    expect((await client.post('/set/b/2')).status).toBe(200);
    expect(events.filter((e) => e.type === 'conflict')).toEqual([
      { type: 'conflict', store: 'memory', attempt: 0, outcome: 'retry' },
      { type: 'conflict', store: 'memory', attempt: 1, outcome: 'retry' },
    ]);
    // Load, then (refused update, re-read) twice, then the update that landed.
    expect(ops(events)).toEqual([
      'get:ok',
      'update:ok',
      'get:ok',
      'update:ok',
      'get:ok',
      'update:ok',
    ]);
  });

  it("reports a save that gives up as a 'gave-up' conflict, next to its ERR_KVSESSION_CONFLICT", async () => {
    const { events, onStoreEvent } = recorder();
    const store = new RefusingStore(createMemoryStore({ prefix: randomPrefix('obs') }));
    const app = await startApp({
      session: { store, onStoreEvent, storeTimeout: 100 },
      routes: mountSessionRoutes,
    });
    const client = app.client();
    await client.post('/set/a/1');
    store.refusals = Infinity;
    expect((await client.post('/set/b/2')).status).toBe(503);
    const conflicts = events.filter((e) => e.type === 'conflict');
    expect(conflicts.at(-1)).toMatchObject({ outcome: 'gave-up' });
    expect(conflicts.slice(0, -1).every((e) => e.outcome === 'retry')).toBe(true);
    expect(app.errors.map((e) => e.code)).toEqual(['ERR_KVSESSION_CONFLICT']);
  });

  it('reports the number of records a prune removed', async () => {
    const { events, onStoreEvent } = recorder();
    const map = new Map<string, StoreEntry>();
    const app = await startApp({
      session: { store: new MemoryStore({ map }), onStoreEvent },
      routes: mountSessionRoutes,
    });
    const expired = Date.now() - 1000;
    for (const key of ['sess:a', 'sess:b', 'sess:c'])
      map.set(key, { value: '{}', expiresAt: expired });
    expect(await app.sessions.prune()).toBe(3);
    expect(events.filter((e) => e.type === 'prune')).toEqual([
      { type: 'prune', store: 'memory', deleted: 3, ms: expect.any(Number) },
    ]);
    expect(ops(events)).toEqual(['prune:ok']);
  });

  it('a throwing listener breaks no request and is reported once', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): number => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const listener = vi.fn(() => {
        throw new Error('metrics backend down');
      });
      const app = await startApp({
        session: { onStoreEvent: listener },
        routes: mountSessionRoutes,
      });
      const client = app.client();
      expect((await client.post('/set/a/1')).status).toBe(200);
      expect((await client.get('/get/a')).json()).toEqual({ value: '1' });
      expect(listener).toHaveBeenCalledTimes(2);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.includes('onStoreEvent'))).toHaveLength(1);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('rejects a listener that is no function with ERR_KVSESSION_BAD_OPTION', async () => {
    const { kvSession } = await import('../src/middleware.js');
    expect(() => kvSession({ secret: TEST_SECRET, onStoreEvent: 'log' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_KVSESSION_BAD_OPTION' }),
    );
  });
});

await describeWithServer('onStoreEvent on Redis', REDIS_URL, () => {
  it('reports the operations of a real request with latency', async () => {
    const { events, onStoreEvent } = recorder();
    const app = await startApp({
      session: { store: REDIS_URL, prefix: randomPrefix('obs'), onStoreEvent },
      routes: mountSessionRoutes,
    });
    const client = app.client();
    expect((await client.post('/set/a/1')).status).toBe(200);
    expect((await client.get('/get/a')).json()).toEqual({ value: '1' });
    expect(ops(events)).toEqual(['create:ok', 'get:ok']);
    expect(events.every((e) => e.type === 'operation' && e.store === 'redis' && e.ms >= 0)).toBe(
      true,
    );
  });
});

/** Turns on `namespaces` for the duration of the test and collects what debug prints. */
function captureDebug(namespaces: string): string[] {
  const lines: string[] = [];
  const { log } = createDebug;
  createDebug.log = (...args: unknown[]) => lines.push(format(...args));
  createDebug.enable(namespaces);
  onTestFinished(() => {
    createDebug.disable();
    createDebug.log = log;
  });
  return lines;
}

const table = fileTable('obs');
await describeWithServer('DEBUG=kvsession on PostgreSQL', DATABASE_URL, () => {
  it('logs the pool opening and closing connections, and no session ID', async () => {
    const lines = captureDebug('kvsession');
    const store = createPostgresStore({
      url: DATABASE_URL,
      table,
      prefix: randomPrefix('obs'),
      max: 1,
    });
    const app = await startApp({
      session: { store, storeTimeout: 5000 },
      routes: mountSessionRoutes,
    });
    const client = app.client();
    expect((await client.post('/set/a/1')).status).toBe(200);
    await app.close();
    // max: 1, so one connection served the schema check and the request, and is logged once.
    expect(
      lines.filter((line) => line.includes('kvsession postgres pool opened a connection')),
    ).toHaveLength(1);
    // pg ends a pool's connections just after pool.end() has resolved.
    await vi.waitFor(() =>
      expect(
        lines.some((line) => line.includes('kvsession postgres pool closed a connection')),
      ).toBe(true),
    );
    const cookie = decodeURIComponent(client.cookie() as string);
    for (const line of lines) expect(line).not.toContain(cookie.slice(0, cookie.lastIndexOf('.')));
  });
});

// A child process with DEBUG set, as an operator would run it, on the package compiled from this tree.
describe('DEBUG=kvsession*', () => {
  let build: string;

  beforeAll(async () => {
    await mkdir(join(root, 'node_modules', '.cache'), { recursive: true });
    build = await mkdtemp(join(root, 'node_modules', '.cache', 'kvsession-obs-'));
    await run(
      process.execPath,
      [
        join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
        '-p',
        'tsconfig.build.json',
        '--outDir',
        build,
      ],
      {
        cwd: root,
      },
    );
  }, 120_000);

  afterAll(async () => {
    if (build !== undefined) await rm(build, { recursive: true, force: true });
  });

  it('logs conflicts, timeouts and Redis reconnects, and never the secret, a password or a session ID', async () => {
    const port = await sparePort();
    const script = join(build, 'debug-child.mjs');
    await writeFile(script, childScript(port));
    const { stdout, stderr } = await run(process.execPath, [script], {
      cwd: build,
      env: { ...process.env, DEBUG: 'kvsession*', DEBUG_COLORS: 'no' },
      timeout: 30_000,
    });
    const { cookie } = JSON.parse(stdout) as { cookie: string };
    expect(stderr).toMatch(/kvsession memory conflict: save refused \(attempt 0\), retrying/);
    expect(stderr).toMatch(/kvsession memory get failed after \d+ms: ERR_KVSESSION_STORE_TIMEOUT/);
    expect(stderr).toMatch(/kvsession:store memory update \d+ms/);
    expect(stderr).toMatch(/kvsession redis error: .*ECONNREFUSED/);
    expect(stderr).toMatch(/kvsession redis reconnecting/);
    const id = decodeURIComponent(cookie).slice(0, decodeURIComponent(cookie).lastIndexOf('.'));
    expect(id.length).toBeGreaterThan(20);
    for (const secret of [TEST_SECRET, 'hunter2-password', id])
      expect(stderr).not.toContain(secret);
  }, 60_000);
});

/** The child: a conflicting save and a timed-out read on memory, and a Redis URL with a password whose server is down. */
function childScript(redisPort: number): string {
  return `
import { createServer } from 'node:http';
import { kvSession, StoreDecorator, createStore } from './src/index.js';
import { createMemoryStore } from './stores/memory.js';
class Faulty extends StoreDecorator {
  refusals = 0;
  hang = false;
  update(...args) { return this.refusals-- > 0 ? Promise.resolve(false) : super.update(...args); }
  get(key) { return this.hang ? new Promise(() => {}) : super.get(key); }
}
const store = new Faulty(createMemoryStore({ prefix: 'obs:' }));
const sessions = kvSession({ secret: ${JSON.stringify(TEST_SECRET)}, store, storeTimeout: 100, pruneInterval: false });
const server = createServer((req, res) => sessions(req, res, async (err) => {
  if (err) { res.statusCode = 503; res.end(err.code); return; }
  try {
    if (req.method === 'POST') req.session.set('n', req.url); else await req.session.get('n');
    res.end('ok');
  } catch (failed) {
    res.statusCode = 503;
    res.end(failed.code);
  }
}));
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = 'http://127.0.0.1:' + server.address().port;
const first = await fetch(url + '/a', { method: 'POST' });
const cookie = first.headers.get('set-cookie').split(';')[0].split('=').slice(1).join('=');
const headers = { cookie: 'sid=' + cookie };
store.refusals = 1;
await fetch(url + '/b', { method: 'POST', headers });
store.hang = true;
await fetch(url + '/c', { headers });
const redis = createStore('redis://kv:hunter2-password@127.0.0.1:${redisPort}', { prefix: 'obs:' });
await redis.warm?.().catch(() => undefined);
await new Promise((resolve) => setTimeout(resolve, 300));
await redis.close().catch(() => undefined);
server.close();
await sessions.close();
process.stdout.write(JSON.stringify({ cookie }));
`;
}
