import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createServer, ServerResponse } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connect } from 'socket.io-client';
import { parseSetCookie } from 'cookie';
import { kvSession } from '../src/index.js';
import type { SessionRequest } from '../src/middleware.js';
import type { SessionStore } from '../src/store.js';
import { TEST_SECRET, startApp } from './helpers/app.js';
import { STORES_UNDER_TEST } from './helpers/stores.js';
import type { StoreUnderTest } from './helpers/stores.js';
import { describeWithServer } from './helpers/services.js';
import { CountingStore } from './helpers/counting-store.js';

type Transport = 'polling' | 'websocket';
const OLD_SECRET = 'old-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

interface IoApp {
  readonly url: string;
  /** Set-Cookie lines the server sent for the sid cookie, in order, with the transport that carried them. */
  readonly sent: { transport: Transport; line: string }[];
  readonly errors: unknown[];
}

/**
 * socket.io with kvSession through io.engine.use(). The handshake's `act` query says what the next
 * middleware does to the session: `create` sets n, `read` reads it (a re-sign or a touch follows from
 * the cookie), `save` awaits save() before next(), as docs/response-hold.md asks on WebSocket upgrades.
 */
async function startIo(
  store: SessionStore,
  options: { secret?: string[]; persistent?: boolean } = {},
): Promise<IoApp> {
  const sessions = kvSession({
    secret: options.secret ?? TEST_SECRET,
    store,
    pruneInterval: false,
    // A fresh store's first operation loads its driver and connects: slow on a loaded test machine.
    storeTimeout: 10_000,
    ...(options.persistent === true ? { cookie: { persistent: true }, touchInterval: 1 } : {}),
  });
  const http = createServer();
  const io = new Server(http, { transports: ['polling', 'websocket'] });
  const sent: IoApp['sent'] = [];
  const errors: unknown[] = [];
  const record = (transport: Transport, req: IncomingMessage, value: unknown): void => {
    if (!isHandshake(req)) return;
    for (const line of [value].flat())
      if (typeof line === 'string' && line.startsWith('sid=')) sent.push({ transport, line });
  };
  // What a polling response carried once Node sent it; what engine.io put into a WebSocket's 101.
  io.engine.use((req: IncomingMessage, res: unknown, next: () => void) => {
    if (res instanceof ServerResponse)
      res.once('finish', () => record('polling', req, res.getHeader('set-cookie')));
    next();
  });
  io.engine.on('headers', (headers: Record<string, unknown>, req: IncomingMessage) =>
    record('websocket', req, headers['Set-Cookie']),
  );
  io.engine.on('connection_error', (err: unknown) => errors.push(err));
  io.engine.use(sessions);
  io.engine.use(async (req: SessionRequest, _res: unknown, next: (err?: unknown) => void) => {
    try {
      // Later polling requests of a connection carry no cookie here (this client keeps no jar): only the handshake acts.
      const act = isHandshake(req)
        ? new URL(req.url ?? '/', 'http://localhost').searchParams.get('act')
        : null;
      if (act === 'create' || act === 'create-save') req.session.set('n', 'created');
      if (act === 'read' || act === 'read-save') await req.session.get('n');
      if (act?.endsWith('-save') === true) await req.session.save();
      next();
    } catch (err) {
      errors.push(err);
      next(err);
    }
  });
  io.on('connection', async (socket) => {
    const session = (socket.request as SessionRequest).session;
    socket.emit('session', { n: (await session.get('n')) ?? null });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    await io.close();
    // Tests use a random prefix per store: clearing it leaves shared servers as they were.
    await sessions.store.clear?.().catch(() => undefined);
    await sessions.close();
  });
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, sent, errors };
}

/** The request that opens an engine.io connection (every later one names its `sid`). */
function isHandshake(req: IncomingMessage): boolean {
  return !new URL(req.url ?? '/', 'http://localhost').searchParams.has('sid');
}

/** Connects over one transport only, with an optional sid cookie; resolves what the server read. */
async function visit(
  app: IoApp,
  transport: Transport,
  act: string,
  sid?: string,
): Promise<unknown> {
  const socket = connect(app.url, {
    transports: [transport],
    query: { act },
    forceNew: true,
    reconnection: false,
    ...(sid === undefined ? {} : { extraHeaders: { cookie: `sid=${sid}` } }),
  });
  try {
    return await new Promise((resolve, reject) => {
      socket.once('session', (data: { n: unknown }) => resolve(data.n));
      socket.once('connect_error', reject);
    });
  } finally {
    socket.disconnect();
  }
}

function lastCookie(app: IoApp): { value: string; maxAge: number | undefined } {
  const line = app.sent.at(-1)?.line;
  expect(line).toBeDefined();
  const parsed = parseSetCookie(line as string);
  return { value: parsed.value ?? '', maxAge: parsed.maxAge };
}

function runSocketIoSuite(under: StoreUnderTest): void {
  describe(`socket.io io.engine.use(sessions) on ${under.name}`, () => {
    beforeAll(async () => {
      // A fresh process's first store loads its driver and connects: on a loaded machine that can pass storeTimeout.
      const store = await under.make();
      await store.warm?.();
      await store.close();
    });

    for (const transport of ['polling', 'websocket'] as const) {
      // A WebSocket upgrade is answered as soon as the middlewares are done: changes need save() first.
      const save = transport === 'websocket' ? '-save' : '';

      it(`${transport}: creates a session whose cookie comes back on the handshake`, async () => {
        const app = await startIo(await under.make());
        expect(await visit(app, transport, `create${save}`)).toBe('created');
        const { value } = lastCookie(app);
        expect(app.sent.map((s) => s.transport)).toEqual([transport]);
        expect(await visit(app, transport, 'read', value)).toBe('created');
        expect(app.errors).toEqual([]);
      });

      it(`${transport}: re-signs a cookie signed with an older secret`, async () => {
        const store = await under.make();
        const old = await startApp({
          session: { secret: OLD_SECRET, store },
          keepStore: true,
          routes: (a) =>
            a.post('/make', (req, res) => {
              req.session.set('n', 'from-old');
              res.send('ok');
            }),
        });
        const browser = old.client();
        await browser.post('/make');
        const oldCookie = browser.cookie() as string;
        await old.close();
        const app = await startIo(store, { secret: [TEST_SECRET, OLD_SECRET] });
        expect(await visit(app, transport, 'read', oldCookie)).toBe('from-old');
        const { value } = lastCookie(app);
        expect(value).not.toBe(oldCookie);
        // The re-signed cookie carries the same session, and no longer needs re-signing.
        expect(await visit(app, transport, 'read', value)).toBe('from-old');
        expect(app.sent).toHaveLength(1);
        expect(app.errors).toEqual([]);
      });

      it(`${transport}: touches a persistent cookie's session and sends its new Max-Age`, async () => {
        const app = await startIo(await under.make(), { persistent: true });
        expect(await visit(app, transport, `create${save}`)).toBe('created');
        const created = lastCookie(app);
        await new Promise((resolve) => setTimeout(resolve, 5));
        expect(await visit(app, transport, `read${save}`, created.value)).toBe('created');
        expect(app.sent).toHaveLength(2);
        const touched = lastCookie(app);
        expect(touched.value).toBe(created.value);
        expect(touched.maxAge).toBeGreaterThan(0);
        expect(app.errors).toEqual([]);
      });
    }

    it('polling: a save that fails ends the handshake with 503 instead of leaving the client waiting', async () => {
      const store = new CountingStore(await under.make());
      store.fault('create', 'fail');
      const app = await startIo(store);
      const failed = await visit(app, 'polling', 'create').catch((err: unknown) => err);
      expect(failed).toBeInstanceOf(Error);
      expect((failed as Error & { description?: unknown }).description).toBe(503);
      expect(store.counts.create).toBe(1);
      expect(app.sent).toEqual([]);
    });

    it('websocket: a change not saved before next() crashes nothing, and an existing session keeps it', async () => {
      const app = await startIo(await under.make());
      expect(await visit(app, 'polling', 'create')).toBe('created');
      const { value } = lastCookie(app);
      expect(await visit(app, 'websocket', 'create', value)).toBe('created');
      expect(await visit(app, 'polling', 'read', value)).toBe('created');
      expect(app.errors).toEqual([]);
    });
  });
}

for (const under of STORES_UNDER_TEST.filter((s) => s.name === 'memory' || s.name === 'redis')) {
  if (under.serverUrl === undefined) runSocketIoSuite(under);
  else
    await describeWithServer(`${under.name} server`, under.serverUrl, () =>
      runSocketIoSuite(under),
    );
}
