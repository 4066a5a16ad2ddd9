// Joins the core to the store registry, so the drop-in accepts store URLs too (src/store-registry.ts).
import '../store-registry.js';
import { session } from './middleware.js';

export { session };
export type { ExpressSessionMiddleware } from './middleware.js';
export type { ExpressSessionOptions } from './options.js';
export type { ExpressCookieOptions } from './cookie.js';
export { SessionCookie as Cookie } from './cookie.js';
export { ExpressSession as Session } from './session.js';
export type { SessionCallback } from './session.js';
export type { LegacyStore as Store, LegacySessionData } from '../legacy-store.js';
export type { MigrateOptions } from '../migrate.js';
export default session;
// `require('kvsession/express-session')` returns the middleware factory itself, as express-session's does (require(esm), Node >= 20.19).
export { session as 'module.exports' };
