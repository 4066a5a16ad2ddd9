import type { IncomingMessage } from 'node:http';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Server } from 'socket.io';
import { io as connect } from 'socket.io-client';
import { describeWithServer } from './helpers/services.js';
import { DROPIN_STORES, startDropInApp } from './helpers/dropin-app.js';
import type { ExpressSession } from '../src/express-session/session.js';
import type { SessionStore } from '../src/store.js';

type SessionRequest = IncomingMessage & { session: ExpressSession & { count?: number } };
type Ack = { count?: number | undefined; id?: string; error?: string };

// socket.io's documented pattern: io.engine.use(sessionMiddleware), then reload()/save() from socket handlers.
for (const s of DROPIN_STORES) {
  const block = (): void => {
    for (const transport of ['polling', 'websocket'] as const) {
      it(`io.engine.use(session): the handshake sees the session, reload/save from a handler persist (${transport})`, async () => {
        const app = await startDropInApp({
          store: (await s.make()) as SessionStore,
          routes: (a) =>
            a.get('/login', (req, res) => {
              (req.session as unknown as { count: number }).count = 10;
              res.json({ id: (req.session as unknown as ExpressSession).id });
            }),
        });
        const io = new Server(app.server);
        io.engine.use(app.sessions);
        io.on('connection', (socket) => {
          const req = socket.request as SessionRequest;
          socket.emit('hello', { count: req.session.count, id: req.session.id });
          socket.on('incr', (ack: (reply: Ack) => void) => {
            req.session.reload((err) => {
              if (err) return ack({ error: (err as { code?: string }).code ?? 'ERR' });
              req.session.count = (req.session.count ?? 0) + 1;
              req.session.save((saveErr) =>
                ack(saveErr ? { error: 'save' } : { count: req.session.count, id: req.session.id }),
              );
            });
          });
        });
        onTestFinished(() => void io.close());
        const browser = app.client();
        const { id } = (await browser.get('/login')).json<{ id: string }>();
        const socket = connect(app.url, {
          transports: [transport],
          extraHeaders: { cookie: `connect.sid=${browser.cookie('connect.sid')}` },
          reconnection: false,
        });
        onTestFinished(() => void socket.close());
        const hello = await new Promise<Ack>((resolve, reject) => {
          socket.once('hello', resolve);
          socket.once('connect_error', reject);
        });
        expect(hello).toEqual({ count: 10, id });
        expect(await socket.emitWithAck('incr')).toEqual({ count: 11, id });
        expect(await socket.emitWithAck('incr')).toEqual({ count: 12, id });
        // An HTTP request of the same session sees what the socket saved.
        app.app.get('/count', (req, res) =>
          res.json({ count: (req.session as unknown as { count: number }).count }),
        );
        expect((await browser.get('/count')).json()).toEqual({ count: 12 });
      });
    }
  };
  if (s.serverUrl === undefined) describe(`drop-in + socket.io on ${s.name}`, block);
  else await describeWithServer(`drop-in + socket.io on ${s.name}`, s.serverUrl, block);
}
