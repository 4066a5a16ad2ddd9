import { describe, expectTypeOf, it } from 'vitest';
import type { Request, RequestHandler } from 'express';
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import { kvSession, KvSessionError, isKvSessionError, createStore } from '../src/index.js';
import { createMemoryStore } from '../stores/memory.js';
import type {
  Session,
  SessionInfo,
  SessionStore,
  StoreEntry,
  KvSessionMiddleware,
  SessionRequest,
  KvSessionOptions,
  KvSessionErrorCode,
  LoginOptions,
  DestroyUserSessionsOptions,
} from '../src/index.js';

// Augmenting SessionData changes the whole TS program, which is why this file is checked in its own
// program (test/tsconfig.types.json) and excluded from tsconfig.json: other tests use free-form keys.
declare module '../src/types.js' {
  interface SessionData {
    userId: number;
    cart: string[];
  }
}

declare const req: Request;
declare const sessions: KvSessionMiddleware;

describe('SessionData augmentation', () => {
  it('types get/has/all/set/delete by key', () => {
    expectTypeOf(req.session.get('userId')).toEqualTypeOf<Promise<number | undefined>>();
    expectTypeOf(req.session.get('cart')).toEqualTypeOf<Promise<string[] | undefined>>();
    expectTypeOf(req.session.has('cart')).toEqualTypeOf<Promise<boolean>>();
    expectTypeOf(req.session.all()).resolves.toEqualTypeOf<
      Readonly<Partial<{ userId: number; cart: string[] }>>
    >();
    expectTypeOf(req.session.set<'userId'>).parameters.toEqualTypeOf<['userId', number]>();
    req.session.set('userId', 1);
    req.session.set('cart', ['a']);
    req.session.delete('cart');
  });

  it('rejects wrong value types and unknown keys', () => {
    // @ts-expect-error userId is a number
    req.session.set('userId', 'x');
    // @ts-expect-error cart holds strings
    req.session.set('cart', [1]);
    // @ts-expect-error not a SessionData key
    req.session.set('nope', 1);
    // @ts-expect-error not a SessionData key
    void req.session.get('nope');
    // @ts-expect-error not a SessionData key
    req.session.delete('nope');
  });
});

describe("req.session on Express's Request", () => {
  it('is a Session with typed members', () => {
    expectTypeOf(req.session).toEqualTypeOf<Session>();
    expectTypeOf(req.session.id).toEqualTypeOf<string | undefined>();
    expectTypeOf(req.session.degraded).toEqualTypeOf<boolean>();
    expectTypeOf(req.session.save()).toEqualTypeOf<Promise<void>>();
    expectTypeOf(req.session.regenerate()).toEqualTypeOf<Promise<void>>();
    expectTypeOf(req.session.destroy()).toEqualTypeOf<Promise<void>>();
    expectTypeOf(req.session.login).parameter(0).toEqualTypeOf<string | number>();
    expectTypeOf(req.session.login).parameter(1).toEqualTypeOf<LoginOptions | undefined>();
    expectTypeOf<LoginOptions['keep']>().toEqualTypeOf<readonly string[] | undefined>();
    expectTypeOf(req.session.set).returns.toEqualTypeOf<void>();
  });
});

describe('nothing public is any', () => {
  it('kvSession and its result', () => {
    expectTypeOf(kvSession).not.toBeAny();
    expectTypeOf(kvSession).returns.not.toBeAny();
    expectTypeOf(kvSession).returns.toEqualTypeOf<KvSessionMiddleware>();
    expectTypeOf(kvSession).parameter(0).toEqualTypeOf<KvSessionOptions>();
    expectTypeOf<KvSessionMiddleware>().toMatchTypeOf<RequestHandler>();
    expectTypeOf<KvSessionMiddleware['store']>().toEqualTypeOf<SessionStore>();
    expectTypeOf<KvSessionMiddleware['prune']>().returns.toEqualTypeOf<Promise<number>>();
    expectTypeOf<KvSessionMiddleware['listUserSessions']>().returns.toEqualTypeOf<
      Promise<SessionInfo[]>
    >();
    expectTypeOf<KvSessionMiddleware['destroyUserSessions']>().returns.toEqualTypeOf<
      Promise<number>
    >();
    expectTypeOf<KvSessionMiddleware['destroyUserSessions']>()
      .parameter(1)
      .toEqualTypeOf<DestroyUserSessionsOptions | undefined>();
    // @ts-expect-error `except` may not be undefined: `req.session.id` before the session was read would end every session
    void sessions.destroyUserSessions('u', { except: req.session.id });
  });

  it('plain node:http and engine.io-style handlers type-check without Express', () => {
    const sessions = kvSession({ secret: 'x'.repeat(32) });
    const server = createServer((req, res) => {
      sessions(req, res, (err) => {
        if (err !== undefined) res.writeHead(500).end();
        else void (req as SessionRequest).session.get('userId').then((id) => res.end(String(id)));
      });
    });
    expectTypeOf(server).toEqualTypeOf<Server>();
    expectTypeOf<Parameters<KvSessionMiddleware>[0]>().toEqualTypeOf<IncomingMessage>();
    expectTypeOf<SessionRequest['session']>().toEqualTypeOf<Session>();
  });

  it('Session members', () => {
    expectTypeOf(req.session.get('userId')).not.toBeAny();
    expectTypeOf(req.session.get('userId')).resolves.not.toBeAny();
    expectTypeOf(req.session.all()).resolves.not.toBeAny();
    expectTypeOf(req.session.userId()).toEqualTypeOf<Promise<string | undefined>>();
  });

  it('options, errors and stores', () => {
    expectTypeOf<KvSessionOptions['secret']>().not.toBeAny();
    expectTypeOf<KvSessionOptions['store']>().not.toBeAny();
    expectTypeOf<KvSessionOptions['idleTimeout']>().not.toBeAny();
    expectTypeOf<KvSessionOptions['cookie']>().not.toBeAny();
    expectTypeOf<KvSessionError['code']>().toEqualTypeOf<KvSessionErrorCode>();
    expectTypeOf<KvSessionError['status']>().toEqualTypeOf<number | undefined>();
    expectTypeOf(isKvSessionError).guards.toEqualTypeOf<KvSessionError>();
    expectTypeOf(createStore).returns.not.toBeAny();
    expectTypeOf(createMemoryStore).returns.toMatchTypeOf<SessionStore>();
    expectTypeOf<SessionStore['get']>().returns.toEqualTypeOf<Promise<StoreEntry | undefined>>();
    expectTypeOf<SessionInfo['handle']>().toEqualTypeOf<string>();
  });
});
