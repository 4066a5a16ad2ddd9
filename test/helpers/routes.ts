import type { Express } from 'express';

/**
 * The routes most middleware tests need, all answering JSON:
 * GET /none (never touches the session), GET /get/:key → { value }, GET /all,
 * POST /set/:key/:value, POST /delete/:key, POST /regenerate, POST /destroy, GET /id → { id }.
 * Values set through the URL are strings.
 */
export function mountSessionRoutes(app: Express): void {
  app.get('/none', (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/get/:key', async (req, res) => {
    res.json({ value: (await req.session.get(req.params.key)) ?? null });
  });
  app.get('/all', async (req, res) => {
    res.json(await req.session.all());
  });
  app.post('/set/:key/:value', (req, res) => {
    req.session.set(req.params.key, req.params.value);
    res.json({ ok: true });
  });
  app.post('/delete/:key', (req, res) => {
    req.session.delete(req.params.key);
    res.json({ ok: true });
  });
  app.post('/regenerate', async (req, res) => {
    await req.session.regenerate();
    res.json({ ok: true });
  });
  app.post('/destroy', async (req, res) => {
    await req.session.destroy();
    res.json({ ok: true });
  });
  app.get('/id', async (req, res) => {
    await req.session.has('x');
    res.json({ id: req.session.id ?? null });
  });
}
