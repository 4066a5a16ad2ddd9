import type { Express } from 'express';
import type { SessionStore } from '../../src/store.js';
import type { KvSessionMiddleware } from '../../src/middleware.js';
import type { SessionInfo } from '../../src/user-index.js';
import type { Client, TestApp, TestSessionOptions } from './app.js';
import { startApp } from './app.js';
import { mountSessionRoutes } from './routes.js';
import { decodeHead, decodeSlot, indexKey, slotKey } from '../../src/user-slots.js';
import { handleFor, storeKeyFor } from '../../src/id.js';

/** What GET /me answers: the bound user and the session's handle, null when absent. */
export interface Me {
  readonly userId: string | null;
  readonly handle: string | null;
}

/**
 * The "log out everywhere" routes on top of mountSessionRoutes: POST /login?user=ID → Me,
 * GET /me → Me, GET /my-sessions (listUserSessions of the current user),
 * POST /logout-others → { ended } (destroyUserSessions except the current session).
 */
export function mountUserRoutes(app: Express, sessions: () => KvSessionMiddleware): void {
  mountSessionRoutes(app);
  const me = async (req: Express['request']): Promise<Me> => ({
    userId: (await req.session.userId()) ?? null,
    handle: req.session.handle ?? null,
  });
  app.post('/login', async (req, res) => {
    await req.session.login(typeof req.query['user'] === 'string' ? req.query['user'] : '');
    res.json(await me(req));
  });
  app.get('/me', async (req, res) => {
    res.json(await me(req));
  });
  app.get('/my-sessions', async (req, res) => {
    const userId = await req.session.userId();
    res.json(userId === undefined ? [] : await sessions().listUserSessions(userId));
  });
  app.post('/logout-others', async (req, res) => {
    const userId = await req.session.userId();
    // The current session's id, as an app would pass it ("sign out my other devices").
    const except = req.session.id;
    res.json({
      ended:
        userId === undefined || except === undefined
          ? 0
          : await sessions().destroyUserSessions(userId, { except }),
    });
  });
}

/** Starts an app over `store` with the user routes mounted. */
export async function startUserApp(
  store: SessionStore,
  session: TestSessionOptions = {},
): Promise<TestApp> {
  // Routes run only after startApp resolved, so the management API is there by then.
  const app: TestApp = await startApp({
    session: { ...session, store },
    routes: (express) => mountUserRoutes(express, () => app.sessions),
  });
  return app;
}

/** Logs a fresh client in as `userId`; resolves the client and what /login answered. */
export async function loginClient(
  app: TestApp,
  userId: string,
): Promise<{ client: Client; me: Me }> {
  const client = app.client();
  const reply = await client.post(loginPath(userId));
  if (reply.status !== 200) throw new Error(`login failed with ${reply.status}: ${reply.body}`);
  return { client, me: reply.json<Me>() };
}

/** The session ID inside a client's signed cookie (`id.signature`). */
export function cookieId(client: Client): string {
  const value = client.cookie();
  if (value === undefined) throw new Error('the client holds no session cookie');
  return decodeURIComponent(value).slice(0, decodeURIComponent(value).lastIndexOf('.'));
}

/** The store key of a client's session. */
export function sessionKey(client: Client): string {
  return storeKeyFor('', cookieId(client));
}

/** The handles of the sessions the index of `userId` holds slots for, sorted; undefined when it has no head. */
export async function indexedHandles(
  store: SessionStore,
  userId: string,
): Promise<string[] | undefined> {
  return (await indexedKeys(store, userId))?.map(handleFor).sort();
}

/** The session keys the slots of `userId`'s index point at, in slot order; undefined when it has no head. */
export async function indexedKeys(
  store: SessionStore,
  userId: string,
): Promise<string[] | undefined> {
  const entry = await store.get(indexKey(userId));
  if (entry === undefined) return undefined;
  const head = decodeHead(entry.value);
  if ('legacy' in head) throw new Error('the index is still in the legacy format');
  const keys: string[] = [];
  for (let n = head.lo; n < head.hi; n++) {
    const slot = await store.get(slotKey(indexKey(userId), n));
    const key = slot === undefined ? undefined : decodeSlot(slot.value)?.key;
    if (key !== undefined) keys.push(key);
  }
  return keys;
}

/** listUserSessions as it crosses the wire: Dates become ISO strings. */
export type ListedJson = { [K in keyof SessionInfo]: string };

/** A unique user id for one test. */
export function randomUser(label = 'user'): string {
  return `${label}-${Math.random().toString(36).slice(2, 10)}`;
}

/** The path that logs the requesting client in as `userId`. */
export function loginPath(userId: string): string {
  return `/login?user=${encodeURIComponent(userId)}`;
}
