import { describe, expect, it } from 'vitest';
import type { Express, RequestHandler } from 'express';
import grantModule from 'grant';
import passport from 'passport';
import * as oidc from 'openid-client';
import { Strategy as OidcStrategy } from 'openid-client/passport';
import { describeWithServer } from './helpers/services.js';
import { DROPIN_STORES, startDropInApp } from './helpers/dropin-app.js';
import { startFakeProvider } from './helpers/fake-oidc.js';
import type { SessionStore } from '../src/store.js';
import type { Client } from './helpers/app.js';

// grant is CommonJS with `export default` in its typings: at run time the default import is the module itself.
const grant = grantModule as unknown as { express(): (config: object) => RequestHandler };

/** Follows redirects with the client's cookie jar, across the app and the provider; resolves the final path and body. */
async function follow(
  client: Client,
  start: string,
  hops = 8,
): Promise<{ url: string; body: string }> {
  let url = new URL(start, client.baseUrl);
  for (let i = 0; i < hops; i++) {
    const sameOrigin = url.origin === client.baseUrl;
    const res = sameOrigin
      ? await client.open(url.pathname + url.search)
      : await fetch(url, { redirect: 'manual' });
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || location === null)
      return { url: url.toString(), body: await res.text() };
    await res.body?.cancel();
    url = new URL(location, url);
  }
  throw new Error('too many redirects');
}

/** A route whose handler is supplied once the app's URL is known (OAuth redirect URIs need it). */
function late(app: Express, path: string): { set(handler: RequestHandler): void } {
  let current: RequestHandler | undefined;
  app.use(path, (req, res, next) => (current === undefined ? next() : current(req, res, next)));
  return { set: (handler) => void (current = handler) };
}

for (const s of DROPIN_STORES) {
  const block = (): void => {
    it('grant: the OAuth state kept in the session survives the round trip and the token response lands in req.session.grant', async () => {
      const provider = await startFakeProvider();
      let mount!: { set(handler: RequestHandler): void };
      const { client: newClient, url } = await startDropInApp({
        store: (await s.make()) as SessionStore,
        routes: (app) => {
          mount = late(app, '/');
          app.get('/done', (req, res) => {
            const g = (
              req.session as unknown as {
                grant?: { response?: { access_token?: string; error?: unknown } };
              }
            ).grant;
            res.json({
              token: g?.response?.access_token ?? null,
              error: g?.response?.error ?? null,
            });
          });
        },
      });
      mount.set(
        grant.express()({
          defaults: { origin: url, transport: 'session', state: true },
          fake: {
            authorize_url: `${provider.issuer}/authorize`,
            access_url: `${provider.issuer}/token`,
            oauth: 2,
            key: provider.clientId,
            secret: provider.clientSecret,
            scope: ['openid'],
            callback: '/done',
          },
        }),
      );
      const browser = newClient();
      const end = await follow(browser, '/connect/fake');
      expect(new URL(end.url).pathname).toBe('/done');
      expect(JSON.parse(end.body)).toEqual({ token: expect.stringMatching(/^at-/), error: null });
      expect(provider.exchanges()).toBe(1);
      // A new flow stores a new state; a callback carrying another one is refused by grant.
      expect((await browser.get('/connect/fake')).status).toBe(302);
      const forged = await follow(browser, '/connect/fake/callback?code=x&state=forged');
      expect(JSON.parse(forged.body)).toEqual({ token: null, error: expect.anything() });
      expect(provider.exchanges()).toBe(1);
    });

    it("openid-client's passport Strategy: state, nonce and PKCE kept in the session, login lands, req.user on the next request", async () => {
      const provider = await startFakeProvider();
      const config = await oidc.discovery(
        new URL(provider.issuer),
        provider.clientId,
        provider.clientSecret,
        undefined,
        {
          execute: [oidc.allowInsecureRequests],
        },
      );
      const auth = new passport.Passport();
      auth.serializeUser((user, done) => done(null, (user as { sub: string }).sub));
      auth.deserializeUser((sub: string, done) => done(null, { sub }));
      let login!: { set(handler: RequestHandler): void };
      const {
        client: newClient,
        url,
        sessions,
      } = await startDropInApp({
        store: (await s.make()) as SessionStore,
        routes: (app) => {
          app.use(auth.session());
          login = late(app, '/login');
          app.get('/me', (req, res) =>
            res.json({ user: (req.user as { sub?: string } | undefined)?.sub ?? null }),
          );
        },
      });
      auth.use(
        'oidc',
        new OidcStrategy(
          { config, scope: 'openid', callbackURL: `${url}/login` },
          (tokens, verified) => verified(null, { sub: tokens.claims()?.sub }),
        ),
      );
      login.set(
        auth.authenticate('oidc', {
          successRedirect: '/me',
          failureRedirect: '/failed',
        }) as RequestHandler,
      );
      const browser = newClient();
      const end = await follow(browser, '/login');
      expect(new URL(end.url).pathname).toBe('/me');
      expect(JSON.parse(end.body)).toEqual({ user: provider.subject });
      expect(await sessions.listUserSessions(provider.subject)).toHaveLength(1);
      expect((await browser.get('/me')).json()).toEqual({ user: provider.subject });
    });
  };
  if (s.serverUrl === undefined) describe(`drop-in + grant / openid-client on ${s.name}`, block);
  else await describeWithServer(`drop-in + grant / openid-client on ${s.name}`, s.serverUrl, block);
}
