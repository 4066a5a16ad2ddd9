import type Keyv from 'keyv';
import type { SessionStore, StoreOptions } from './store.js';
import { KvSessionError } from './errors.js';

/** What the `store` option may be: a store URL, a store object or a Keyv instance. */
export type StoreSpec = string | SessionStore | Keyv;

/** Turns the `store` option into a store; the URL registry (stores/index.ts) is the one the package installs. */
export type StoreSource = (store: StoreSpec, options: StoreOptions) => SessionStore;

// The core names no store: the package's entries (src/store-registry.ts) install the registry here on import.
let installed: StoreSource | undefined;

/** Installs the source the core builds stores from; called once by src/store-registry.ts. */
export function installStoreSource(source: StoreSource): void {
  installed = source;
}

/** Builds the store for the `store` option through the installed source. */
export function resolveStore(store: StoreSpec, options: StoreOptions): SessionStore {
  if (installed === undefined) {
    // Only reachable by importing core modules past the package's entries (as a test might).
    throw new KvSessionError(
      'ERR_KVSESSION_UNKNOWN_STORE',
      'no store registry is installed; import kvSession from kvsession or kvsession/express-session',
    );
  }
  return installed(store, options);
}
