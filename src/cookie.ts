import { parseCookie, stringifySetCookie } from 'cookie';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { KvSessionError } from './errors.js';

/** Session cookie options. */
export interface CookieOptions {
  /** Cookie name; a `__Host-` name forces `secure`, `path: '/'` and no `domain`. @default 'sid' */
  name?: string;
  /** @default '/' */
  path?: string;
  /** @default undefined (host-only) */
  domain?: string;
  /** @default true */
  httpOnly?: boolean;
  /** `'auto'`: Secure on HTTPS: Express's `req.secure` (it follows `trust proxy`), else the socket's TLS. @default 'auto' */
  secure?: boolean | 'auto';
  /** @default 'lax' */
  sameSite?: 'lax' | 'strict' | 'none';
  /** `false`: a browser-session cookie; `true`: `Max-Age` equals the session's remaining lifetime. @default false */
  persistent?: boolean;
}

/** Cookie options after defaults and `__Host-` rules are applied. */
export interface ResolvedCookieOptions {
  readonly name: string;
  readonly path: string;
  readonly domain: string | undefined;
  readonly httpOnly: boolean;
  readonly secure: boolean | 'auto';
  readonly sameSite: 'lax' | 'strict' | 'none';
  readonly persistent: boolean;
}

/** Applies defaults and validates cookie options; throws ERR_KVSESSION_BAD_OPTION on contradictions. */
export function resolveCookieOptions(options: CookieOptions = {}): ResolvedCookieOptions {
  const name = options.name ?? 'sid';
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
    throw new KvSessionError('ERR_KVSESSION_BAD_OPTION', `cookie.name ${JSON.stringify(name)} is not a valid cookie name`);
  }
  const sameSite = options.sameSite ?? 'lax';
  if (!['lax', 'strict', 'none'].includes(sameSite)) {
    throw new KvSessionError('ERR_KVSESSION_BAD_OPTION', `cookie.sameSite must be 'lax', 'strict' or 'none'`);
  }
  const hostPrefixed = name.startsWith('__Host-');
  const secure = hostPrefixed || name.startsWith('__Secure-') ? true : (options.secure ?? 'auto');
  if (sameSite === 'none' && secure !== true) {
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_OPTION',
      "cookie.sameSite 'none' requires cookie.secure: true; browsers reject SameSite=None cookies that are not Secure",
    );
  }
  return {
    name,
    // Browsers refuse a __Host- cookie that has a Domain or a Path other than '/'.
    path: hostPrefixed ? '/' : (options.path ?? '/'),
    domain: hostPrefixed ? undefined : options.domain,
    httpOnly: options.httpOnly ?? true,
    secure,
    sameSite,
    persistent: options.persistent ?? false,
  };
}

/** Reads the raw session cookie value from the request, or undefined. */
export function readSessionCookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (header === undefined || header === '') return undefined;
  return parseCookie(header)[name];
}

/** Serializes the Set-Cookie value carrying `value`; `maxAgeMs` makes it persistent, 0 expires it. */
export function serializeSessionCookie(
  options: ResolvedCookieOptions,
  req: IncomingMessage,
  value: string,
  maxAgeMs: number | undefined,
): string {
  return stringifySetCookie(options.name, value, {
    path: options.path,
    ...(options.domain === undefined ? {} : { domain: options.domain }),
    httpOnly: options.httpOnly,
    secure: options.secure === 'auto' ? isSecure(req) : options.secure,
    sameSite: options.sameSite,
    ...(maxAgeMs === undefined
      ? {}
      : maxAgeMs <= 0
        ? { maxAge: 0, expires: new Date(0) }
        : // Rounded up: Max-Age=0 would delete a cookie whose session still has up to a second to live.
          { maxAge: Math.ceil(maxAgeMs / 1000) }),
  });
}

/**
 * Express's `req.secure` where there is one: it follows `trust proxy`, so X-Forwarded-Proto counts
 * only from trusted proxies. Elsewhere (plain node:http, engine.io) the connection's own TLS state.
 */
function isSecure(req: IncomingMessage & { secure?: unknown }): boolean {
  return typeof req.secure === 'boolean' ? req.secure : (req.socket as Partial<TLSSocket> | null)?.encrypted === true;
}
