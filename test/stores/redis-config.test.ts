import { describe, expect, it } from 'vitest';
import { parseRedisUrl } from '../../stores/redis-config.js';
import { createRedisStore } from '../../stores/redis.js';
import { createStore } from '../../stores/index.js';

describe('parseRedisUrl(url)', () => {
  it('redis-cluster://h:p,h:p with credentials gives every node, TLS off, and the decoded credentials', () => {
    expect(
      parseRedisUrl('redis-cluster://app:p%40ss@10.0.0.1:7001,10.0.0.2:7002,[::1]:7003'),
    ).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7001 },
        { host: '10.0.0.2', port: 7002 },
        { host: '::1', port: 7003 },
      ],
      tls: false,
      auth: { username: 'app', password: 'p@ss' },
    });
  });

  it('rediss-sentinel://h,h:p/name/2 gives the sentinels (default port 26379), the master name, the database and TLS on', () => {
    expect(parseRedisUrl('rediss-sentinel://s1,s2:5000/mymaster/2')).toEqual({
      kind: 'sentinel',
      nodes: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 5000 },
      ],
      master: 'mymaster',
      db: 2,
      tls: true,
      auth: {},
    });
  });

  it('redis:// and rediss:// stay single-node URLs', () => {
    expect(parseRedisUrl('rediss://h:6380/1')).toEqual({
      kind: 'standalone',
      url: 'rediss://h:6380/1',
      tls: true,
    });
  });

  it.each([
    'redis-sentinel://h:26379',
    'redis-sentinel://h:26379/',
    'redis-cluster://h:7001/0',
    'redis-cluster://h:99999',
    'redis-cluster://h:7001,,h:7002',
    'redis-cluster://u:%zz@h:7001',
    'redis-mesh://h:1',
  ])('%j throws ERR_KVSESSION_BAD_STORE_URL', (url) => {
    expect(() => parseRedisUrl(url)).toThrow(
      expect.objectContaining({ code: 'ERR_KVSESSION_BAD_STORE_URL' }),
    );
  });

  it('a bad cluster URL error never shows its password', () => {
    let message = '';
    try {
      parseRedisUrl('redis-cluster://user:s3cr3tpw@h:7001/x');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('://***@');
    expect(message).not.toContain('s3cr3tpw');
  });
});

describe('createRedisStore(options) validation', () => {
  const fakeClient = {
    isOpen: false,
    connect: async () => undefined,
    sendCommand: async () => undefined,
  };

  it('client together with url or tls throws ERR_KVSESSION_BAD_OPTION', () => {
    const bad = expect.objectContaining({ code: 'ERR_KVSESSION_BAD_OPTION' });
    expect(() => createRedisStore({ client: fakeClient, url: 'redis://h' })).toThrow(bad);
    expect(() => createRedisStore({ client: fakeClient, tls: { servername: 'h' } })).toThrow(bad);
  });

  it('a client that is not a node-redis connection throws ERR_KVSESSION_BAD_OPTION', () => {
    expect(() => createRedisStore({ client: {} as never })).toThrow(
      expect.objectContaining({ code: 'ERR_KVSESSION_BAD_OPTION' }),
    );
  });

  it('tls options with redis-cluster:// or redis-sentinel:// throw ERR_KVSESSION_BAD_OPTION; rediss-cluster:// takes them', async () => {
    const tls = { servername: 'redis.internal' };
    const bad = expect.objectContaining({ code: 'ERR_KVSESSION_BAD_OPTION' });
    expect(() => createRedisStore({ url: 'redis-cluster://h:7001', tls })).toThrow(bad);
    expect(() => createRedisStore({ url: 'redis-sentinel://h:26379/m', tls })).toThrow(bad);
    await createRedisStore({ url: 'rediss-cluster://h:7001', tls }).close();
  });

  const urls = [
    'redis-cluster://127.0.0.1:1',
    'rediss-cluster://127.0.0.1:1',
    'redis-sentinel://127.0.0.1:1/m',
  ];
  urls.push('rediss-sentinel://127.0.0.1:1/m');
  it.each(urls)('createStore(%j) builds the redis store', async (url) => {
    const store = createStore(url);
    expect([store.name, store.capabilities.atomic]).toEqual(['redis', true]);
    await store.close();
  });
});

describe('cluster and sentinel URLs with nothing listening', () => {
  it.each([
    'redis-cluster://127.0.0.1:1,127.0.0.1:2',
    'redis-sentinel://127.0.0.1:1,127.0.0.1:2/m',
  ])(
    '%s: every call rejects with a store code, twice, with no unhandled error, and close() resolves',
    async (url) => {
      const unhandled: unknown[] = [];
      const onUnhandled = (err: unknown): void => void unhandled.push(err);
      process.on('uncaughtException', onUnhandled);
      process.on('unhandledRejection', onUnhandled);
      try {
        const store = createRedisStore({ url, timeout: 500 });
        for (let round = 0; round < 2; round++) {
          for (const call of [
            () => store.get('k'),
            () => store.create('k', 'v', Date.now() + 1000),
            () => store.count(),
          ]) {
            await expect(call()).rejects.toMatchObject({
              code: expect.stringMatching(/^ERR_KVSESSION_STORE_(UNAVAILABLE|TIMEOUT)$/),
            });
          }
        }
        await store.close();
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(unhandled).toEqual([]);
      } finally {
        process.off('uncaughtException', onUnhandled);
        process.off('unhandledRejection', onUnhandled);
      }
    },
    20_000,
  );
});
