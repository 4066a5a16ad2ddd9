import { describe, expect, it } from 'vitest';
import express from 'express';
import type { Request } from 'express';
import flash from 'connect-flash';
import { csrfSync } from 'csrf-sync';
import lusca from 'lusca';
import { doubleCsrf } from 'csrf-csrf';
import cookieParser from 'cookie-parser';
import { describeWithServer } from './helpers/services.js';
import { DROPIN_STORES, startDropInApp } from './helpers/dropin-app.js';
import type { SessionStore } from '../src/store.js';

// Each library wired as its README shows, on the drop-in, over HTTP with a cookie jar.
for (const s of DROPIN_STORES) {
  const block = (): void => {
    it('connect-flash: a flash set before a redirect is shown once on the next request', async () => {
      const { client } = await startDropInApp({
        store: (await s.make()) as SessionStore,
        routes: (app) => {
          app.use(flash());
          app.get('/flash', (req, res) => {
            req.flash('info', 'Flash is back!');
            res.redirect('/');
          });
          app.get('/', (req, res) => res.json({ info: req.flash('info') }));
        },
      });
      const browser = client();
      expect((await browser.get('/flash')).status).toBe(302);
      expect((await browser.get('/')).json()).toEqual({ info: ['Flash is back!'] });
      expect((await browser.get('/')).json()).toEqual({ info: [] });
    });

    it('csrf-sync: the token stored in the session validates the next POST; a missing one is 403', async () => {
      const { generateToken, csrfSynchronisedProtection } = csrfSync();
      const { client } = await startDropInApp({
        store: (await s.make()) as SessionStore,
        routes: (app) => {
          app.get('/form', (req, res) => res.json({ token: generateToken(req) }));
          app.post('/submit', csrfSynchronisedProtection, (_req, res) => res.json({ ok: true }));
        },
      });
      const browser = client();
      const { token } = (await browser.get('/form')).json<{ token: string }>();
      expect((await browser.post('/submit', { 'x-csrf-token': token })).json()).toEqual({
        ok: true,
      });
      expect((await browser.post('/submit')).status).toBe(403);
      expect((await client().post('/submit', { 'x-csrf-token': token })).status).toBe(403);
    });

    it('lusca.csrf(): the secret kept in the session validates the token on POST; a wrong one is 403', async () => {
      const { client } = await startDropInApp({
        store: (await s.make()) as SessionStore,
        routes: (app) => {
          app.use(lusca.csrf());
          app.get('/form', (_req, res) => res.json({ token: res.locals['_csrf'] as string }));
          app.post('/submit', (_req, res) => res.json({ ok: true }));
        },
      });
      const browser = client();
      const { token } = (await browser.get('/form')).json<{ token: string }>();
      expect((await browser.post('/submit', { 'x-csrf-token': token })).json()).toEqual({
        ok: true,
      });
      expect((await browser.post('/submit', { 'x-csrf-token': `${token}x` })).status).toBe(403);
    });

    it('csrf-csrf bound to req.session.id: valid for its own session only (saveUninitialized: true keeps the ID it read)', async () => {
      const { generateCsrfToken, doubleCsrfProtection } = doubleCsrf({
        getSecret: () => 'a-csrf-secret-that-is-long-enough-0123456789',
        getSessionIdentifier: (req: Request) => (req.session as unknown as { id: string }).id,
        cookieName: 'x-csrf-token',
        cookieOptions: { secure: false },
      });
      const { client } = await startDropInApp({
        store: (await s.make()) as SessionStore,
        session: { saveUninitialized: true },
        routes: (app) => {
          app.use(cookieParser());
          app.use(express.json());
          app.get('/form', (req, res) => res.json({ token: generateCsrfToken(req, res) }));
          app.post('/submit', doubleCsrfProtection, (_req, res) => res.json({ ok: true }));
        },
      });
      const browser = client();
      const { token } = (await browser.get('/form')).json<{ token: string }>();
      expect(browser.cookie('connect.sid')).toBeDefined();
      expect((await browser.post('/submit', { 'x-csrf-token': token })).json()).toEqual({
        ok: true,
      });
      // Same CSRF cookie and token, another session: refused.
      const other = client();
      other.jar.set('x-csrf-token', browser.jar.get('x-csrf-token') as string);
      expect((await other.post('/submit', { 'x-csrf-token': token })).status).toBe(403);
    });
  };
  if (s.serverUrl === undefined)
    describe(`drop-in + connect-flash / csrf-sync / lusca / csrf-csrf on ${s.name}`, block);
  else
    await describeWithServer(
      `drop-in + connect-flash / csrf-sync / lusca / csrf-csrf on ${s.name}`,
      s.serverUrl,
      block,
    );
}
