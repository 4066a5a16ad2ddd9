import { createBenchApp, serve } from './harness.js';

// The baseline: the same routes with no session layer at all. With argv `empty-middleware`, one
// app.use() layer that does nothing: the floor for any session layer that plugs in that way, since
// Express's router spends its own time on every layer it passes. With `request-properties`, one
// layer that sets `req.session` and `req.sessionID` to constants: the floor for any middleware that
// gives express-session's API, since V8 gives an Express request a new hidden class per added property.
const { app } = createBenchApp();
const variant = process.argv[2];
if (variant === 'empty-middleware') {
  app.use((_req, _res, next) => {
    next();
  });
}
if (variant === 'request-properties') {
  const session = { user: { name: 'Ada Lovelace' } };
  app.use((req, _res, next) => {
    const r = req as typeof req & { sessionID?: string };
    r.session = session as never;
    r.sessionID = 'x';
    next();
  });
}
app.get('/__setup', (_req, res) => {
  res.send('ok');
});
app.get('/none', (_req, res) => {
  res.send('ok');
});
app.get('/read', (_req, res) => {
  res.send('Ada Lovelace');
});
app.get('/write', (_req, res) => {
  res.send('1');
});
serve(app, async () => {});
