import { describe, expect, it } from 'vitest';
import express from 'express';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { CountingStore } from './helpers/counting-store.js';
import { describeWithServer } from './helpers/services.js';
import { DROPIN_STORES, form, startDropInApp } from './helpers/dropin-app.js';
import type { FullSessionStore } from '../src/store.js';

interface User {
  id: string;
  username: string;
}
const USERS: Record<string, User & { password: string }> = {
  alice: { id: 'u1', username: 'alice', password: 'wonderland' },
};

/** passport + passport-local wired as passport's README and the todos example show them. */
function wirePassport(app: express.Express): void {
  const auth = new passport.Passport();
  auth.use(
    new LocalStrategy((username, password, done) => {
      const user = USERS[username];
      if (user === undefined || user.password !== password)
        return done(null, false, { message: 'Incorrect username or password.' });
      return done(null, { id: user.id, username: user.username });
    }),
  );
  auth.serializeUser((user, done) => done(null, (user as User).id));
  auth.deserializeUser((id: string, done) =>
    done(null, Object.values(USERS).find((u) => u.id === id) ?? false),
  );
  app.use(express.urlencoded({ extended: false }));
  app.use(auth.session());
  app.post(
    '/login/password',
    auth.authenticate('local', { successRedirect: '/', failureRedirect: '/login' }),
  );
  app.post('/logout', (req, res, next) => {
    req.logout((err) => (err ? next(err) : res.redirect('/')));
  });
  app.get('/', (req, res) => {
    res.json({
      authenticated: req.isAuthenticated(),
      user: (req.user as User | undefined)?.username ?? null,
    });
  });
}

for (const s of DROPIN_STORES) {
  const block = (): void => {
    it('login, isAuthenticated() on the next request, logout: each flow completes and the user index follows', async () => {
      const inner = (await s.make()) as FullSessionStore;
      // Connected first, as an app's store is (CountingStore does not forward warm()).
      await inner.warm?.().catch(() => undefined);
      const store = new CountingStore(inner);
      const { client: newClient, sessions } = await startDropInApp({
        store,
        routes: (app) => wirePassport(app),
      });
      const client = newClient();
      expect((await client.get('/')).json()).toEqual({ authenticated: false, user: null });
      expect(store.total).toBe(0);

      const bad = await client.request(
        '/login/password',
        form({ username: 'alice', password: 'nope' }),
      );
      expect(bad.status).toBe(302);
      expect(bad.headers.get('location')).toBe('/login');

      const login = await client.request(
        '/login/password',
        form({ username: 'alice', password: 'wonderland' }),
      );
      expect(login.status).toBe(302);
      expect(login.headers.get('location')).toBe('/');
      expect(login.cookie('connect.sid')?.value).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
      expect(await sessions.listUserSessions('u1')).toHaveLength(1);

      store.reset();
      const home = await client.get('/');
      expect(home.json()).toEqual({ authenticated: true, user: 'alice' });
      // A reading request: one read, no write, no cookie.
      expect(store.nonZero()).toEqual({ get: 1 });
      expect(home.rawSetCookies).toEqual([]);

      const out = await client.request('/logout', { method: 'POST' });
      expect(out.status).toBe(302);
      expect((await client.get('/')).json()).toEqual({ authenticated: false, user: null });
      expect(await sessions.listUserSessions('u1')).toHaveLength(0);
    });
  };
  if (s.serverUrl === undefined) describe(`drop-in + passport-local on ${s.name}`, block);
  else await describeWithServer(`drop-in + passport-local on ${s.name}`, s.serverUrl, block);
}
