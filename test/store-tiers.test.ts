import { describe, expect, it } from 'vitest';
import type { SessionStore } from '../src/store.js';
import { isSessionKey, supports } from '../src/store.js';
import { StoreDecorator } from '../src/store-decorator.js';
import { createMemoryStore } from '../stores/memory.js';
import { startApp } from './helpers/app.js';
import { mountSessionRoutes } from './helpers/routes.js';
import { CountingStore } from './helpers/counting-store.js';

/** A store with the required tier only: the memory store seen through get/create/update/touch/delete/close. */
function requiredOnly(): SessionStore {
  const inner = createMemoryStore();
  return {
    name: 'required-only',
    prefix: inner.prefix,
    capabilities: inner.capabilities,
    get: (key) => inner.get(key),
    create: (key, value, expiresAt) => inner.create(key, value, expiresAt),
    update: (key, expected, value, expiresAt) => inner.update(key, expected, value, expiresAt),
    touch: (key, expiresAt) => inner.touch(key, expiresAt),
    delete: (key) => inner.delete(key),
    close: () => inner.close(),
  };
}

describe('store contract tiers', () => {
  it('kvSession(options) serves sessions from a store with the required tier only; prune() resolves 0', async () => {
    const app = await startApp({
      session: { store: requiredOnly(), pruneInterval: 10 },
      routes: mountSessionRoutes,
    });
    const client = app.client();
    expect((await client.post('/set/cart/3')).status).toBe(200);
    expect((await client.get('/get/cart')).json()).toEqual({ value: '3' });
    expect(supports(app.sessions.store, 'prune')).toBe(false);
    expect(await app.sessions.prune()).toBe(0);
    expect(app.errors).toEqual([]);
  });

  it('StoreDecorator(inner) has an optional member exactly when inner has it', () => {
    const partial = new StoreDecorator(requiredOnly());
    const full = new StoreDecorator(createMemoryStore());
    for (const member of ['prune', 'count', 'clear'] as const) {
      expect([member, supports(partial, member)]).toEqual([member, false]);
      expect([member, supports(full, member)]).toEqual([member, true]);
    }
    expect(supports(partial, 'warm')).toBe(false);
  });

  it('StoreDecorator(inner) routes every operation through intercept(op), optional ones included', async () => {
    const counting = new CountingStore(createMemoryStore());
    const expiresAt = Date.now() + 60_000;
    await counting.create('k', 'v', expiresAt);
    await counting.get('k');
    await counting.update('k', 'v', 'w', expiresAt);
    await counting.touch('k', expiresAt + 1);
    expect(await counting.count()).toBe(1);
    await counting.delete('k');
    await counting.prune();
    await counting.clear();
    await counting.close();
    expect(counting.nonZero()).toEqual({
      get: 1,
      create: 1,
      update: 1,
      touch: 1,
      count: 1,
      delete: 1,
      prune: 1,
      clear: 1,
      close: 1,
    });
  });

  it("isSessionKey(key) is false for the core's index records only", () => {
    expect(isSessionKey('bHVja3ktc2Vzc2lvbi1rZXk')).toBe(true);
    expect(isSessionKey('user:abc')).toBe(false);
    expect(isSessionKey('sess:abc', 'sess:'.length)).toBe(true);
  });
});
