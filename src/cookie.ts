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
  // Options often come from untyped config: a non-object must fail with a code, not a TypeError.
  if (options === null || typeof options !== 'object')
    throw badCookie('cookie must be an object of cookie attributes');
  const name = options.name ?? 'sid';
  if (typeof name !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
    throw badCookie(`cookie.name ${JSON.stringify(name)} is not a valid cookie name`);
  }
  const sameSite = options.sameSite ?? 'lax';
  if (!['lax', 'strict', 'none'].includes(sameSite))
    throw badCookie(`cookie.sameSite must be 'lax', 'strict' or 'none'`);
  checkFlag(options.httpOnly, 'httpOnly');
  checkFlag(options.persistent, 'persistent');
  if (options.secure !== undefined && options.secure !== 'auto')
    checkFlag(options.secure, 'secure');
  // Browsers match the prefixes case-insensitively (RFC 6265bis since draft 11): `__host-sid` gets the same rules.
  const lower = name.toLowerCase();
  const hostPrefixed = lower.startsWith('__host-');
  const secure = hostPrefixed || lower.startsWith('__secure-') ? true : (options.secure ?? 'auto');
  if (sameSite === 'none' && secure !== true) {
    throw badCookie(
      "cookie.sameSite 'none' requires cookie.secure: true; browsers reject SameSite=None cookies that are not Secure",
    );
  }
  return {
    name,
    // Browsers refuse a __Host- cookie that has a Domain or a Path other than '/'.
    path: hostPrefixed ? '/' : checkPath(options.path ?? '/'),
    domain: hostPrefixed ? undefined : checkDomain(options.domain),
    httpOnly: options.httpOnly ?? true,
    secure,
    sameSite,
    persistent: options.persistent ?? false,
  };
}

function badCookie(message: string): KvSessionError {
  return new KvSessionError('ERR_KVSESSION_BAD_OPTION', message);
}

function checkFlag(value: unknown, what: string): void {
  if (value !== undefined && typeof value !== 'boolean')
    throw badCookie(`cookie.${what} must be true or false`);
}

// Checked here, once: otherwise `cookie` refuses the value on every Set-Cookie and each save fails as a 503.
function checkPath(path: unknown): string {
  // Browsers replace a path that does not start with '/' by the request's directory: never what was meant.
  if (typeof path !== 'string' || !path.startsWith('/') || !trySerialize({ path })) {
    throw badCookie(
      `cookie.path ${JSON.stringify(path)} must start with '/' and hold only printable ASCII other than ';'`,
    );
  }
  return path;
}

function checkDomain(domain: unknown): string | undefined {
  if (domain === undefined) return undefined;
  // The `cookie` package's rule (DNS labels, optional leading dot) rejects ';', ports, spaces and control characters.
  // '' would silently mean host-only (the `cookie` package skips it); say so rather than guess what was meant.
  if (typeof domain !== 'string' || domain === '' || !trySerialize({ domain })) {
    throw badCookie(
      `cookie.domain ${JSON.stringify(domain)} is not a valid host name (letters, digits, '-', '.'; no port or ';'); omit it for host-only`,
    );
  }
  return domain;
}

/** True when `cookie` accepts the attribute: its rules are the ones applied to every response. */
function trySerialize(attributes: { path?: string; domain?: string }): boolean {
  try {
    stringifySetCookie('n', 'v', attributes);
    return true;
  } catch {
    return false;
  }
}

const NONE: readonly string[] = Object.freeze([]);

/**
 * Every value the request carries for cookie `name`, in header order: almost always one.
 * A sibling subdomain or a plain-HTTP page can plant a second cookie of the same name (other
 * Domain or Path), and the browser then sends both; the caller must see all of them, so that
 * a planted value can neither mask nor replace the real one.
 */
export function readSessionCookies(req: IncomingMessage, name: string): readonly string[] {
  const header = req.headers.cookie;
  if (header === undefined || header === '') return NONE;
  const first = header.indexOf(name);
  if (first === -1) return NONE;
  if (header.indexOf(name, first + 1) === -1) {
    // The name occurs once: the common case, left to the `cookie` package.
    const value = parseCookie(header)[name];
    return value === undefined ? NONE : [value];
  }
  return allValues(header, name);
}

/**
 * Parsed by hand, pair by pair, because `cookie.parseCookie` keeps only one value per name.
 * Each matching pair still goes through parseCookie, so values are unquoted and decoded the same way.
 */
function allValues(header: string, name: string): readonly string[] {
  const values: string[] = [];
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq === -1 || pair.slice(0, eq).trim() !== name) continue;
    const value = parseCookie(pair)[name];
    if (value !== undefined) values.push(value);
  }
  return values;
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
  return typeof req.secure === 'boolean'
    ? req.secure
    : (req.socket as Partial<TLSSocket> | null)?.encrypted === true;
}
