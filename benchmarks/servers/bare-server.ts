import { createBenchApp, serve } from './harness.js';

// The baseline: the same routes with no session layer at all.
const { app } = createBenchApp();
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
