/**
 * Removes credentials from text bound for an error message, a log line or the CLI's stderr:
 * the user-info part of URLs (`scheme://user:password@host`) and secret-looking parameters
 * (`?password=…`, `&token=…`, `password=…` in libpq-style strings). Applied to every
 * KvSessionError message and to every driver error kept as a cause, so no path can forget it.
 */

// A JSON-quoted string that starts like a URL: our own messages quote URLs with JSON.stringify,
// so a password holding spaces or quotes is still wholly inside it.
const QUOTED_URL = /"([a-z][a-z0-9+.-]{0,30}:)((?:[^"\\]|\\.)*)"/gi;
// An unquoted URL with user-info, in any text (a driver's message): within one token (no space or quote),
// everything from after `scheme:` and its slashes up to the token's last '@'. Scanned token by token
// rather than with one backtracking pattern, which went quadratic on text such as 'a:a:a:…'.
const TOKEN = /[^\s"'`<>]+/g;
const SCHEME = /[a-z][a-z0-9+.-]{0,30}:\/*/i;
// name=value pairs whose name says secret, in query strings and key=value connection strings.
// Bounded repetitions: error text can hold request-derived strings, and this must stay linear on them.
const SECRET_NAME = String.raw`[\w.-]{0,40}(?:pass(?:word|wd)?|pwd|token|secret|api[_-]?key|access[_-]?key|auth|credential)[\w.-]{0,40}`;
const SECRET_VALUE = String.raw`"(?:[^"\\]|\\.)*"|'[^']*'|[^\s&;#"',)}]+`;
const SECRET_PARAM = new RegExp(
  String.raw`((?:^|[?&;\s,{(])"?${SECRET_NAME}"?\s*[=:]\s*)(${SECRET_VALUE})`,
  'gi',
);

/** `text` with every URL credential and secret-named parameter replaced by `***`. */
export function redactSecrets(text: string): string {
  return text
    .replace(QUOTED_URL, (_, scheme: string, rest: string) => `"${scheme}${redactUserinfo(rest)}"`)
    .replace(TOKEN, maskUserinfo)
    .replace(SECRET_PARAM, (_, name: string) => `${name}***`);
}

/** One token with the user-info of a URL in it masked; `[user:password@]`-style placeholders are left alone. */
function maskUserinfo(token: string): string {
  const at = token.lastIndexOf('@');
  if (at === -1) return token;
  const scheme = SCHEME.exec(token);
  if (scheme === null) return token;
  const start = scheme.index + scheme[0].length;
  if (start > at || token[start] === '[') return token;
  return `${token.slice(0, start)}***${token.slice(at)}`;
}

/** A URL body (after `scheme:`) with everything between the slashes and its last '@' masked. */
function redactUserinfo(rest: string): string {
  const at = rest.lastIndexOf('@');
  if (at === -1) return rest;
  const slashes = /^\/{0,3}/.exec(rest)?.[0] ?? '';
  return `${slashes}***${rest.slice(at)}`;
}

/**
 * A driver error safe to keep as a `cause`: the same error when nothing in it needed redacting,
 * otherwise a plain Error with the redacted message (in its stack too) and the driver's `code`, so
 * `util.inspect(err)` and loggers that print causes show no password either.
 */
export function redactCause(cause: unknown): unknown {
  if (!(cause instanceof Error)) return typeof cause === 'string' ? redactSecrets(cause) : cause;
  const fields = Object.entries(cause).filter(
    ([, v]) => typeof v === 'string' || typeof v === 'number',
  ) as [string, string | number][];
  // The stack's frames are file paths (which may hold '@', as in node_modules/@scope): only its message part can leak.
  const dirty =
    redactSecrets(cause.message) !== cause.message ||
    fields.some(([, v]) => typeof v === 'string' && redactSecrets(v) !== v) ||
    (cause.cause !== undefined && redactCause(cause.cause) !== cause.cause);
  if (!dirty) return cause;
  const clean = new Error(redactSecrets(cause.message));
  clean.name = cause.name;
  if (cause.stack !== undefined) clean.stack = cause.stack.replace(cause.message, clean.message);
  // Keep what lets a reader tell one failure from another (code, errno, syscall, port), never free text as is.
  for (const [k, v] of fields)
    Object.defineProperty(clean, k, {
      value: typeof v === 'string' ? redactSecrets(v) : v,
      enumerable: true,
    });
  if (cause.cause !== undefined)
    Object.defineProperty(clean, 'cause', { value: redactCause(cause.cause), enumerable: false });
  return clean;
}
