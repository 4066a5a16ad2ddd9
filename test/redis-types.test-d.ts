import { describe, expectTypeOf, it } from 'vitest';
import { createClient, createCluster, createSentinel } from 'redis';
import type { RedisConnection, RedisStoreOptions, RedisTlsOptions } from '../stores/redis.js';

describe('createRedisStore({ client }) types', () => {
  it('accepts what node-redis v5 builds: a client, a cluster, a sentinel', () => {
    expectTypeOf(createClient()).toExtend<RedisConnection>();
    expectTypeOf(createCluster({ rootNodes: [] })).toExtend<RedisConnection>();
    expectTypeOf(createSentinel({ name: 'm', sentinelRootNodes: [] })).toExtend<RedisConnection>();
  });

  it('rejects objects that are not connections, and tls takes PEM strings or Buffers', () => {
    expectTypeOf({ url: 'redis://h' }).not.toExtend<RedisConnection>();
    expectTypeOf<{
      ca: Buffer;
      cert: string;
      key: Buffer;
      servername: string;
    }>().toExtend<RedisTlsOptions>();
    expectTypeOf<RedisStoreOptions['tls']>().toEqualTypeOf<RedisTlsOptions | undefined>();
  });
});
