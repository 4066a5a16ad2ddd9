import { describe, it } from 'vitest';
import Keyv from 'keyv';
import KeyvRedis from '@keyv/redis';
import { runStoreConformance } from '../../conformance/index.js';
import { createKeyvStore } from '../../stores/keyv.js';
import { CONFORMANCE_PREFIX, REDIS_URL, describeWithServer } from '../helpers/services.js';

// One fresh Keyv and adapter per store: an adapter shared by two Keyv instances corrupts clear().
describe('keyv store over a Map', () => {
  runStoreConformance(
    it,
    ({ prefix }) => createKeyvStore(new Keyv({ store: new Map() }), { prefix }),
    { concurrency: false },
  );
});

// A serializing adapter with its own iterator, the way users usually hand us a Keyv. Redis expires
// keys by itself, so prune() may find nothing left to delete: the store is told so.
await describeWithServer('keyv store over @keyv/redis', REDIS_URL, () => {
  runStoreConformance(
    it,
    ({ prefix }) =>
      createKeyvStore(new Keyv({ store: new KeyvRedis(REDIS_URL, { throwOnErrors: true }) }), {
        prefix,
        nativeExpiry: true,
      }),
    { concurrency: false, prefix: CONFORMANCE_PREFIX },
  );
});
