import type { SessionStore } from '../../src/store.js';
import { forwardWarm } from '../../src/store.js';
import type { ServerStats } from './harness.js';
import { countOp } from './harness.js';

/**
 * Wraps a kvsession store so every contract call is counted in `stats` under its method name.
 * Each call is one backend round trip for the built-in stores' get/create/update/touch/delete
 * (conditional writes are single statements/scripts), so the counts are round trips per request.
 */
export function countingStore(store: SessionStore, stats: ServerStats): SessionStore {
  return {
    name: store.name,
    prefix: store.prefix,
    capabilities: store.capabilities,
    get: (key) => (countOp(stats, 'get'), store.get(key)),
    create: (key, value, expiresAt) => (countOp(stats, 'create'), store.create(key, value, expiresAt)),
    update: (key, expected, value, expiresAt) => (countOp(stats, 'update'), store.update(key, expected, value, expiresAt)),
    touch: (key, expiresAt) => (countOp(stats, 'touch'), store.touch(key, expiresAt)),
    delete: (key) => (countOp(stats, 'delete'), store.delete(key)),
    prune: () => (countOp(stats, 'prune'), store.prune()),
    count: () => store.count(),
    clear: () => store.clear(),
    close: () => store.close(),
    // Not counted: it is no session operation. Without it kvSession() could not connect ahead of the first request.
    ...forwardWarm(store),
  };
}
