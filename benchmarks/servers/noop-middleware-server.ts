import { createBenchApp, serve } from './harness.js';

// Bare Express plus one middleware that does nothing: the floor for any session layer that
// plugs in with app.use(), since Express's router spends its own time on every layer it passes.
const { app } = createBenchApp();
app.use((_req, _res, next) => {
  next();
});
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
