// kvSession() in a program that also has @types/express-session (brought in here by the migrate store's typings).
import express from 'express';
import expressSession from 'express-session';
import { kvSession } from 'kvsession';

const old = new expressSession.MemoryStore();
const app = express();
app.use(kvSession({ secret: process.env['SESSION_SECRET'], migrate: { store: old } }));
app.get('/', async (req, res) => {
  const views = ((await req.session.get('views')) as number | undefined) ?? 0;
  req.session.set('views', views + 1);
  res.json({ id: req.session.id ?? null });
});
