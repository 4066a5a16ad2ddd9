import type { IncomingMessage } from 'node:http';
import { stringifySetCookie } from 'cookie';

/** express-session's `cookie` option (`expires` is refused: use `maxAge`). */
export interface ExpressCookieOptions {
  /** Lifetime in ms of the browser cookie; null/undefined: a browser-session cookie. @default null */
  maxAge?: number | null | undefined;
  /** @default '/' */
  path?: string | undefined;
  /** @default undefined (host-only) */
  domain?: string | undefined;
  /** @default true */
  httpOnly?: boolean | undefined;
  /** `true`: only set over HTTPS (per `proxy` / `trust proxy`); `'auto'`: Secure when the request is HTTPS. @default false */
  secure?: boolean | 'auto' | undefined;
  /** `true` means `'strict'`, `false` omits the attribute. @default 'lax' (express-session: omitted) */
  sameSite?: boolean | 'lax' | 'strict' | 'none' | undefined;
  /** CHIPS `Partitioned` attribute. @default false */
  partitioned?: boolean | undefined;
  /** `Priority` attribute. @default undefined */
  priority?: 'low' | 'medium' | 'high' | undefined;
}

/** The cookie settings every session of one middleware starts from. */
export interface CookieDefaults {
  readonly maxAge: number | null;
  readonly path: string;
  readonly domain: string | undefined;
  readonly httpOnly: boolean;
  readonly secure: boolean | 'auto';
  readonly sameSite: 'lax' | 'strict' | 'none' | false;
  readonly partitioned: boolean;
  readonly priority: 'low' | 'medium' | 'high' | undefined;
}

/**
 * `req.session.cookie`, as express-session shapes it: attributes plus `maxAge` (remaining ms,
 * settable: "remember me"), `originalMaxAge` and `expires`. Its `originalMaxAge` is kept in the
 * session record when it differs from the configured one, so it holds on later requests.
 */
export class SessionCookie {
  path: string;
  domain: string | undefined;
  httpOnly: boolean;
  secure: boolean | 'auto';
  sameSite: 'lax' | 'strict' | 'none' | false;
  partitioned: boolean;
  priority: 'low' | 'medium' | 'high' | undefined;
  /** The lifetime the cookie was given, in ms; null for a browser-session cookie. */
  originalMaxAge: number | null;
  #expires: Date | null;

  /** A cookie with `defaults`, its lifetime counting from `now` (express-session touches it on every request). */
  constructor(defaults: CookieDefaults, originalMaxAge: number | null, now: number) {
    this.path = defaults.path;
    this.domain = defaults.domain;
    this.httpOnly = defaults.httpOnly;
    this.secure = defaults.secure;
    this.sameSite = defaults.sameSite;
    this.partitioned = defaults.partitioned;
    this.priority = defaults.priority;
    this.originalMaxAge = originalMaxAge;
    this.#expires = originalMaxAge === null ? null : new Date(now + originalMaxAge);
  }

  /** When the browser drops the cookie; null for a browser-session cookie. */
  get expires(): Date | null {
    return this.#expires;
  }

  set expires(date: Date | null) {
    this.#expires = date;
    this.originalMaxAge = this.maxAge;
  }

  /** Remaining lifetime in ms; setting it restarts the cookie's lifetime (null: browser-session cookie). */
  get maxAge(): number | null {
    return this.#expires === null ? null : this.#expires.getTime() - Date.now();
  }

  set maxAge(ms: number | null) {
    if (ms !== null && (typeof ms !== 'number' || !Number.isFinite(ms)))
      throw new TypeError('cookie.maxAge must be a number of ms or null');
    this.expires = ms === null ? null : new Date(Date.now() + ms);
  }

  /** The attributes as express-session's `cookie.data` lists them. */
  get data(): Record<string, unknown> {
    return {
      originalMaxAge: this.originalMaxAge,
      expires: this.#expires,
      secure: this.secure,
      httpOnly: this.httpOnly,
      domain: this.domain,
      path: this.path,
      sameSite: this.sameSite,
      partitioned: this.partitioned,
    };
  }

  /** Same as `data`, so `JSON.stringify(req.session)` shows the cookie as express-session's does. */
  toJSON(): Record<string, unknown> {
    return this.data;
  }

  /** The Set-Cookie line carrying `value`, or undefined when a `secure: true` cookie must not go over this plain-HTTP request. */
  serialize(
    name: string,
    value: string,
    req: IncomingMessage,
    proxy: boolean | undefined,
  ): string | undefined {
    const https = isSecure(req, proxy);
    if (this.secure === true && !https) return undefined;
    return stringifySetCookie(name, value, {
      path: this.path,
      ...(this.domain === undefined ? {} : { domain: this.domain }),
      httpOnly: this.httpOnly,
      secure: this.secure === 'auto' ? https : this.secure,
      ...(this.sameSite === false ? {} : { sameSite: this.sameSite }),
      ...(this.partitioned ? { partitioned: true } : {}),
      ...(this.priority === undefined ? {} : { priority: this.priority }),
      // Rounded up, as express-session's cookie module does not: Max-Age=0 would delete a live cookie.
      ...(this.#expires === null
        ? {}
        : { expires: this.#expires, maxAge: Math.max(1, Math.ceil((this.maxAge ?? 0) / 1000)) }),
    });
  }
}

/** A Set-Cookie line that deletes the cookie `name` at `path`/`domain`. */
export function clearCookieLine(name: string, defaults: CookieDefaults): string {
  return stringifySetCookie(name, '', {
    path: defaults.path,
    ...(defaults.domain === undefined ? {} : { domain: defaults.domain }),
    expires: new Date(0),
    maxAge: 0,
  });
}

/**
 * Whether the request came over HTTPS, as express-session decides it: the socket itself, then
 * X-Forwarded-Proto when `proxy` is true, or Express's `req.secure` (its `trust proxy`) when unset.
 */
export function isSecure(req: IncomingMessage, proxy: boolean | undefined): boolean {
  if ((req.socket as { encrypted?: boolean } | null)?.encrypted === true) return true;
  if (proxy === false) return false;
  if (proxy !== true) return (req as { secure?: unknown }).secure === true;
  const header = req.headers['x-forwarded-proto'];
  const first = (Array.isArray(header) ? header[0] : header)?.split(',')[0]?.trim().toLowerCase();
  return first === 'https';
}
