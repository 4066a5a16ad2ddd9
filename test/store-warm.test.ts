import { describe, expect, it } from 'vitest';
import { kvSession } from '../src/index.js';
import { MemoryStore } from '../stores/memory.js';
import { createRedisStore } from '../stores/redis.js';
import { REDIS_URL, describeWithServer, randomPrefix, sleep } from './helpers/services.js';

const SECRET = 'w'.repeat(32);

/** A memory store whose optional warm() is observable. */
class WarmingStore extends MemoryStore {
  warmed = 0;
  constructor(private readonly fail: boolean) {
    super({ prefix: randomPrefix('warm') });
  }
  async warm(): Promise<void> {
    this.warmed++;
    if (this.fail) throw new Error('backend down at start');
  }
}

describe('store warm-up', () => {
  it('kvSession(options) calls store.warm() once at construction', async () => {
    const store = new WarmingStore(false);
    const sessions = kvSession({ secret: SECRET, store, pruneInterval: false });
    expect(store.warmed).toBe(1);
    await sessions.close();
  });

  it('kvSession(options) with a store whose warm() rejects raises no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown): void => void unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      const store = new WarmingStore(true);
      const sessions = kvSession({ secret: SECRET, store, pruneInterval: false });
      await sleep(20);
      expect(store.warmed).toBe(1);
      expect(unhandled).toEqual([]);
      await sessions.close();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('a store that cannot start is reported once, at startup', () => {
  /** Collects the process warnings kvsession emits while `fn` runs and for `settleMs` after. */
  async function warningsDuring(fn: () => Promise<void>, settleMs: number): Promise<Error[]> {
    const seen: Error[] = [];
    const onWarning = (warning: Error): void => {
      if (warning.name === 'KvSessionWarning') seen.push(warning);
    };
    process.on('warning', onWarning);
    try {
      await fn();
      await sleep(settleMs);
    } finally {
      process.off('warning', onWarning);
    }
    return seen;
  }

  it('kvSession(options) whose store.warm() rejects emits one KvSessionWarning with the cause', async () => {
    const store = new WarmingStore(true);
    const warnings = await warningsDuring(async () => {
      const sessions = kvSession({ secret: SECRET, store, pruneInterval: false });
      await sleep(20);
      await sessions.close();
    }, 20);
    expect(warnings.map((w) => [w.name, (w as { code?: string }).code])).toEqual([
      ['KvSessionWarning', 'ERR_KVSESSION_STORE_UNAVAILABLE'],
    ]);
    expect(warnings[0]?.message).toContain('backend down at start');
  });

  it('kvSession({ store: postgres:// on a closed port }) warns with the address and without the password', async () => {
    const warnings = await warningsDuring(async () => {
      const sessions = kvSession({
        secret: SECRET,
        store: 'postgres://postgres:hunter2-secret@127.0.0.1:1/test',
        pruneInterval: false,
        storeTimeout: 1000,
      });
      await sleep(1500);
      await sessions.close();
    }, 20);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toContain('127.0.0.1:1');
    expect(warnings[0]?.message).not.toContain('hunter2');
  });
});

await describeWithServer('redis store warm-up', REDIS_URL, () => {
  it('warm() resolves once connected, and a store with a closed port resolves warm() too (errors surface on use)', async () => {
    const up = createRedisStore({ url: REDIS_URL, prefix: randomPrefix('warm') });
    await up.warm();
    expect(await up.get('missing')).toBeUndefined();
    await up.close();
    const down = createRedisStore({
      url: 'redis://127.0.0.1:1',
      prefix: randomPrefix('warm'),
      timeout: 500,
    });
    await down.warm();
    await expect(down.get('x')).rejects.toMatchObject({ code: 'ERR_KVSESSION_STORE_UNAVAILABLE' });
    await down.close();
  });
});
