import type { IncomingMessage, ServerResponse } from 'node:http';
import { stringifySetCookie } from 'cookie';
import type { SessionContext } from './context.js';
import type { LegacySessionData, LegacyStore } from './legacy-store.js';
import type { Session } from './session.js';
import { callLegacy, isLegacyStore } from './legacy-store.js';
import { unsignLegacyCookie } from './legacy-cookie.js';
import { readSessionCookies } from './cookie.js';
import { KvSessionError } from './errors.js';

/** The `migrate` option: where the sessions of the express-session setup being replaced live. */
export interface MigrateOptions {
  /** The express-session `Store` the app used before (connect-redis, connect-pg-simple, ...). */
  store: LegacyStore;
  /** The express-session cookie name. @default 'connect.sid' */
  cookieName?: string;
  /** express-session's secret(s), if they differ from kvsession's (they only verify old cookies). @default kvsession's `secret` */
  secret?: string | readonly string[];
}

/** Moves express-session sessions into kvsession, one on first use. */
export interface Migration {
  /**
   * When the request has a validly signed express-session cookie and no valid kvsession one, copies the old
   * record's data into `session`, saves it (new ID, new cookie) and deletes the old record. Resolves whether it moved one.
   */
  run(req: IncomingMessage, res: ServerResponse, session: Session): Promise<boolean>;
}

/** Builds the migration for the `migrate` option, or undefined without one; throws ERR_KVSESSION_BAD_OPTION on a bad one. */
export function createMigration(
  ctx: SessionContext,
  options: MigrateOptions | undefined,
  secret: string | readonly string[] | undefined,
  timeoutMs: number,
): Migration | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== 'object' || !isLegacyStore(options.store)) {
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_OPTION',
      'migrate.store must be the express-session Store the app used before (get/set/destroy)',
    );
  }
  const cookieName = options.cookieName ?? 'connect.sid';
  const raw = options.secret ?? secret;
  const secrets = (typeof raw === 'string' ? [raw] : [...(raw ?? [])]).filter(
    (s): s is string => typeof s === 'string' && s !== '',
  );
  if (secrets.length === 0)
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_OPTION',
      'migrate needs the secret express-session signed its cookies with',
    );
  const store = options.store;
  return {
    async run(req, res, session) {
      // A valid kvsession cookie wins: this browser has already moved.
      if (ctx.cookies.read(req) !== undefined) return false;
      const sid = firstValid(readSessionCookies(req, cookieName), secrets);
      if (sid === undefined) return false;
      let old: LegacySessionData | null | undefined;
      try {
        old = await callLegacy<LegacySessionData | null>('get', timeoutMs, (done) =>
          store.get(sid, done),
        );
      } catch (err) {
        if (ctx.onStoreError === 'anonymous') return false;
        throw err;
      }
      if (old === null || old === undefined || typeof old !== 'object') return false;
      const target = session as unknown as { set(key: string, value: unknown): void };
      for (const [key, value] of Object.entries(old)) {
        // express-session keeps its cookie settings in the record; kvsession's cookie comes from its own options.
        if (key !== 'cookie' && value !== undefined) target.set(key, value);
      }
      await session.save();
      // Best effort: the data now lives in kvsession, and the old record expires by itself if this fails.
      await callLegacy('destroy', timeoutMs, (done) => store.destroy(sid, done)).catch(
        () => undefined,
      );
      if (cookieName !== ctx.cookie.name && !res.headersSent) {
        res.appendHeader(
          'Set-Cookie',
          stringifySetCookie(cookieName, '', { path: '/', expires: new Date(0) }),
        );
      }
      return true;
    },
  };
}

/** The first of the request's cookies of that name that express-session signed: a planted second one never masks it. */
function firstValid(values: readonly string[], secrets: readonly string[]): string | undefined {
  for (const value of values) {
    const sid = unsignLegacyCookie(value, secrets);
    if (sid !== undefined) return sid;
  }
  return undefined;
}
