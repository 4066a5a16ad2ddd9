import type { Session } from './session.js';

// Declared on Express's own Request interface rather than on the global Express.Request that
// @types/express-session augments too: there two different `session` types would be an error in
// every program that has both (an app migrating, or typings that import express-session). Here the
// Request interface's own member wins. Declared apart from SessionData so that the express-session
// drop-in, which leaves `req.session` to @types/express-session, does not bring it in.
declare module 'express-serve-static-core' {
  interface Request {
    /** The request's session (kvsession): lazily loaded, saved before the response is sent. */
    session: Session;
  }
}

/** The type of `req.session` under kvSession(). */
export type RequestSession = Session;
