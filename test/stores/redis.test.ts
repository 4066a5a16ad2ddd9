import { it } from 'vitest';
import { runStoreConformance } from '../../conformance/index.js';
import { createRedisStore } from '../../stores/redis.js';
import { CONFORMANCE_PREFIX, describeWithServer, REDIS_URL } from '../helpers/services.js';

await describeWithServer('redis store', REDIS_URL, () =>
  runStoreConformance(it, ({ prefix }) => createRedisStore({ url: REDIS_URL, prefix }), {
    prefix: CONFORMANCE_PREFIX,
  }),
);
