// Joins the core to the store registry before anything here is used (src/store-registry.ts says why).
import './store-registry.js';
export { kvSession } from './middleware.js';
export type {
  KvSessionMiddleware,
  KvSessionManager,
  KvSessionHandler,
  KvSessionNext,
  SessionRequest,
  RequestSession,
} from './middleware.js';
export type { KvSessionOptions } from './options.js';
export type {
  StoreEvent,
  StoreEventListener,
  StoreOperationEvent,
  StoreConflictEvent,
  StorePruneEvent,
} from './store-events.js';
export type { CookieOptions } from './cookie.js';
export type { Duration } from './duration.js';
export { Session } from './session.js';
export type { Data, DataKey } from './session.js';
export type { SessionData } from './types.js';
export type {
  SessionStore,
  FullSessionStore,
  StoreEntry,
  StoreCapabilities,
  StoreOptions,
  DataChanges,
} from './store.js';
export { DEFAULT_PREFIX, isSessionKey, supports } from './store.js';
export { StoreDecorator } from './store-decorator.js';
export type { StoreOperation } from './store-decorator.js';
export type { SessionInfo } from './user-index.js';
export type { LoginOptions, DestroyUserSessionsOptions } from './user-args.js';
export { KvSessionError, isKvSessionError, storeClosed } from './errors.js';
export type { KvSessionErrorCode } from './errors.js';
// The store registry: the URL schemes kvSession({ store }) accepts. Each store's own factory and options
// are exported from its subpath (`kvsession/stores/redis`, ...), so this entry names no store.
export { createStore, STORE_SCHEMES } from '../stores/index.js';
