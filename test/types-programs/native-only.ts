// kvSession() alone: `req.session` is kvsession's Session, typed by SessionData merging.
import express from 'express';
import { kvSession } from 'kvsession';
import type { RequestSession } from 'kvsession';

declare module 'kvsession' {
  interface SessionData {
    views: number;
  }
}

const app = express();
app.use(
  kvSession({
    secret: process.env['SESSION_SECRET'],
    userIdFrom: (data) => (typeof data['uid'] === 'string' ? data['uid'] : undefined),
  }),
);
app.get('/', async (req, res) => {
  const session: RequestSession = req.session;
  const views = (await session.get('views')) ?? 0;
  session.set('views', views + 1);
  await session.reload();
  res.json({ id: req.session.id ?? null, views });
});
