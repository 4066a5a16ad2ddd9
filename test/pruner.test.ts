import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FullSessionStore } from '../src/store.js';
import type { KvSessionMiddleware } from '../src/middleware.js';
import { kvSession } from '../src/index.js';
import { startPruner } from '../src/pruner.js';
import { createMemoryStore } from '../stores/memory.js';
import { CountingStore } from './helpers/counting-store.js';
import type { StoreOp } from './helpers/counting-store.js';
import { STORES_UNDER_TEST } from './helpers/stores.js';
import type { StoreUnderTest } from './helpers/stores.js';
import { describeWithServer, randomPrefix, sleep } from './helpers/services.js';
import { runFromSource } from './e2e/from-source.js';

const SECRET = 'pruner-test-secret-0123456789-abcdefghijklmnop';
const INTERVAL_MS = 40;
// Only a guard against a pruner that never runs; passing tests finish as soon as the condition holds.
const WAIT_LIMIT_MS = 15_000;

/** A CountingStore that also sums what prune() deleted; its close() leaves the inner store open. */
class PruneTally extends CountingStore {
  deleted = 0;

  protected override async intercept<T>(op: StoreOp, call: () => Promise<T>): Promise<T> {
    const result = await super.intercept(op, call);
    if (op === 'prune') this.deleted += result as number;
    return result;
  }

  // The test closes the shared inner stores itself, once, after every middleware is closed.
  override async close(): Promise<void> {
    this.counts.close++;
  }
}

/** Polls `condition` until it holds; fails after WAIT_LIMIT_MS. */
async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const limit = Date.now() + WAIT_LIMIT_MS;
  while (!condition()) {
    if (Date.now() > limit) throw new Error(`gave up waiting for ${what}`);
    await sleep(10);
  }
}

let warnings: string[] = [];
const onWarning = (w: Error): void => {
  warnings.push(w.message);
};
beforeEach(() => {
  warnings = [];
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
});

/** Writes `live` long-lived and `expiring` short-lived records; resolves when the short ones have expired. */
async function seed(store: FullSessionStore, live: number, expiring: number): Promise<string[]> {
  const soon = Date.now() + 100;
  const later = Date.now() + 3_600_000;
  const liveKeys = Array.from({ length: live }, (_, i) => `live${i}`);
  for (const key of liveKeys) expect(await store.create(key, '{"c":0,"d":{}}', later)).toBe(true);
  for (let i = 0; i < expiring; i++)
    expect(await store.create(`old${i}`, '{"c":0,"d":{}}', soon)).toBe(true);
  await sleep(Math.max(0, soon - Date.now() + 10));
  return liveKeys;
}

/** Up to three store instances over one backend: separate instances when they share data, else one shared. */
async function peers(entry: StoreUnderTest, prefix: string): Promise<FullSessionStore[]> {
  const first = await entry.make(prefix);
  const second = await entry.make(prefix);
  expect(await first.create('probe', '{}', Date.now() + 60_000)).toBe(true);
  const shared = (await second.get('probe')) !== undefined;
  await first.delete('probe');
  if (shared) return [first, second, await entry.make(prefix)];
  // An in-process store (memory) holds its data per instance: share that one instance instead.
  await second.close();
  return [first];
}

function backgroundPruning(entry: StoreUnderTest): void {
  it('expired records disappear by themselves; live ones stay', async () => {
    const inner = await entry.make(randomPrefix('prune'));
    const tally = new PruneTally(inner);
    const sessions = kvSession({ secret: SECRET, store: tally, pruneInterval: INTERVAL_MS });
    try {
      if (inner.capabilities.nativeExpiry) {
        // The backend expires records itself: kvsession must not add sweeps of its own.
        await sleep(INTERVAL_MS * 5);
        expect(tally.counts.prune).toBe(0);
        return;
      }
      const liveKeys = await seed(inner, 3, 4);
      await waitFor(() => tally.deleted >= 4, 'the background prune');
      expect(tally.deleted).toBe(4);
      expect(await inner.prune()).toBe(0);
      expect(await inner.count()).toBe(3);
      for (const key of liveKeys) expect(await inner.get(key)).toBeDefined();
      expect(warnings.filter((w) => w.includes('prune'))).toEqual([]);
    } finally {
      await sessions.close();
      await inner.close();
    }
  });

  // The tests below are about a pruner; a native-expiry store never gets one (asserted above).
  if (entry.nativeExpiry) return;

  it('close() stops the pruner: no prune runs afterwards and none fails', async () => {
    const inner = await entry.make(randomPrefix('close'));
    const tally = new PruneTally(inner);
    const sessions = kvSession({ secret: SECRET, store: tally, pruneInterval: INTERVAL_MS });
    try {
      await waitFor(() => tally.counts.prune >= 2, 'two background prunes');
    } finally {
      await sessions.close();
    }
    const after = tally.counts.prune;
    await sleep(INTERVAL_MS * 8);
    expect(tally.counts.prune).toBe(after);
    expect(tally.counts.close).toBe(1);
    expect(warnings.filter((w) => w.includes('prune'))).toEqual([]);
    await inner.close();
  });

  it('close() during a running prune closes the store only after that prune settled', async () => {
    const inner = await entry.make(randomPrefix('inflight'));
    const tally = new PruneTally(inner);
    const hold = tally.hold('prune');
    const sessions = kvSession({ secret: SECRET, store: tally, pruneInterval: INTERVAL_MS });
    await hold.reached;
    const closed = sessions.close();
    await sleep(20);
    expect(tally.counts.close).toBe(0);
    hold.release();
    await closed;
    expect(tally.counts.close).toBe(1);
    expect(warnings.filter((w) => w.includes('prune'))).toEqual([]);
    await inner.close();
  });

  it('several middleware instances pruning one store at once: no errors, each record pruned once', async () => {
    const prefix = randomPrefix('many');
    const stores = await peers(entry, prefix);
    const first = stores[0] as FullSessionStore;
    const tallies = [0, 1, 2].map(
      (i) => new PruneTally(stores[i % stores.length] as FullSessionStore),
    );
    const middlewares: KvSessionMiddleware[] = [];
    try {
      const liveKeys = await seed(first, 5, 20);
      for (const tally of tallies)
        middlewares.push(kvSession({ secret: SECRET, store: tally, pruneInterval: 10 }));
      const deleted = (): number => tallies.reduce((sum, t) => sum + t.deleted, 0);
      await waitFor(() => deleted() >= 20, 'the expired records to be pruned');
      // Let the instances overlap a while longer on a store with nothing left to prune.
      await waitFor(() => tallies.every((t) => t.counts.prune >= 3), 'every instance to prune');
      expect(deleted()).toBe(20);
      expect(await first.prune()).toBe(0);
      expect(await first.count()).toBe(5);
      for (const key of liveKeys) expect(await first.get(key)).toBeDefined();
      expect(warnings.filter((w) => w.includes('prune'))).toEqual([]);
    } finally {
      for (const m of middlewares) await m.close();
      for (const s of new Set(stores)) await s.close();
    }
  });
}

for (const entry of STORES_UNDER_TEST) {
  const name = `background pruning on ${entry.name}`;
  if (entry.serverUrl === undefined) describe(name, () => backgroundPruning(entry));
  else await describeWithServer(name, entry.serverUrl, () => backgroundPruning(entry));
}

describe('startPruner', () => {
  it('stop() resolves only after a prune in flight has settled', async () => {
    const tally = new PruneTally(createMemoryStore());
    const hold = tally.hold('prune');
    const errors: unknown[] = [];
    const pruner = startPruner(tally, 10, (err) => errors.push(err));
    await hold.reached;
    let stopped = false;
    const stopping = pruner.stop().then(() => (stopped = true));
    await sleep(20);
    expect(stopped).toBe(false);
    hold.release();
    await stopping;
    await sleep(50);
    expect(tally.counts.prune).toBe(1);
    expect(errors).toEqual([]);
  });

  it('a failing prune is reported and the next run still happens', async () => {
    const tally = new PruneTally(createMemoryStore());
    tally.fault('prune', 'fail');
    const errors: unknown[] = [];
    const pruner = startPruner(tally, 10, (err) => errors.push(err));
    try {
      await waitFor(() => errors.length >= 2, 'two reported failures');
      tally.fault('prune', undefined);
      const calls = tally.counts.prune;
      await waitFor(() => tally.counts.prune > calls, 'a run after the failures');
    } finally {
      await pruner.stop();
    }
  });

  it('a prune that fails because the pruner was stopped meanwhile is not reported', async () => {
    const tally = new PruneTally(createMemoryStore());
    const hold = tally.hold('prune');
    const errors: unknown[] = [];
    const pruner = startPruner(tally, 10, (err) => errors.push(err));
    await hold.reached;
    tally.fault('prune', 'fail');
    const stopping = pruner.stop();
    hold.release();
    await stopping;
    expect(errors).toEqual([]);
  });
});

describe('the pruner timer', () => {
  it('never keeps the process alive: a process with only a pruning kvSession exits by itself', async () => {
    const run = await runFromSource('test/e2e/fixtures/pruner-idle.ts');
    expect(run.signal).toBeNull();
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const { prunes } = JSON.parse(run.stdout) as { prunes: number };
    // It did prune while the process had other work, so exiting was not the pruner never starting.
    expect(prunes).toBeGreaterThanOrEqual(2);
  });
});
