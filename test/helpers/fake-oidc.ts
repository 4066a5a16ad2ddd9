import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import { onTestFinished } from 'vitest';

/** A tiny local OAuth 2 / OpenID Connect provider: discovery, authorize (auto-approves), token, JWKS. */
export interface FakeProvider {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The `sub` every login gets. */
  readonly subject: string;
  /** How many codes were exchanged at the token endpoint. */
  readonly exchanges: () => number;
}

// One RSA key per test process: generating it costs ~100 ms of CPU.
const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const KID = 'test-key';

/** Starts the provider on an ephemeral loopback port; closed when the test ends. */
export async function startFakeProvider(): Promise<FakeProvider> {
  const codes = new Map<string, { nonce: string | undefined; clientId: string }>();
  let exchanges = 0;
  const provider = {
    issuer: '',
    clientId: 'test-client',
    clientSecret: 'test-client-secret',
    subject: 'user-42',
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      res.statusCode = 500;
      res.end();
    });
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', provider.issuer);
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(res, {
        issuer: provider.issuer,
        authorization_endpoint: `${provider.issuer}/authorize`,
        token_endpoint: `${provider.issuer}/token`,
        jwks_uri: `${provider.issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      });
    }
    if (url.pathname === '/jwks')
      return json(res, {
        keys: [{ ...publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' }],
      });
    if (url.pathname === '/authorize') {
      const code = randomBytes(16).toString('hex');
      codes.set(code, {
        nonce: url.searchParams.get('nonce') ?? undefined,
        clientId: url.searchParams.get('client_id') ?? '',
      });
      const back = new URL(url.searchParams.get('redirect_uri') ?? '');
      back.searchParams.set('code', code);
      const state = url.searchParams.get('state');
      if (state !== null) back.searchParams.set('state', state);
      res.writeHead(302, { location: back.toString() }).end();
      return;
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += String(chunk);
      const form = new URLSearchParams(body);
      const grant = codes.get(form.get('code') ?? '');
      if (grant === undefined) return json(res, { error: 'invalid_grant' }, 400);
      codes.delete(form.get('code') ?? '');
      exchanges++;
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        iss: provider.issuer,
        sub: provider.subject,
        aud: grant.clientId || provider.clientId,
        iat: now,
        exp: now + 300,
        ...(grant.nonce === undefined ? {} : { nonce: grant.nonce }),
      };
      return json(res, {
        access_token: `at-${randomBytes(8).toString('hex')}`,
        token_type: 'Bearer',
        expires_in: 300,
        id_token: signJwt(claims),
      });
    }
    json(res, { error: 'not_found' }, 404);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  provider.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  onTestFinished(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { ...provider, exchanges: () => exchanges };
}

function json(res: ServerResponse, body: unknown, status = 200): void {
  res
    .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    .end(JSON.stringify(body));
}

function signJwt(claims: Record<string, unknown>): string {
  const part = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${part({ alg: 'RS256', typ: 'JWT', kid: KID })}.${part(claims)}`;
  return `${input}.${createSign('RSA-SHA256').update(input).sign(privateKey).toString('base64url')}`;
}
