import { redactCause, redactSecrets } from './redact.js';

/** Every stable error code kvsession throws or passes to `next()`. */
export type KvSessionErrorCode =
  | 'ERR_KVSESSION_NO_SECRET'
  | 'ERR_KVSESSION_WEAK_SECRET'
  | 'ERR_KVSESSION_BAD_OPTION'
  | 'ERR_KVSESSION_BAD_ARGUMENT'
  | 'ERR_KVSESSION_UNSUPPORTED'
  | 'ERR_KVSESSION_UNKNOWN_STORE'
  | 'ERR_KVSESSION_BAD_STORE_URL'
  | 'ERR_KVSESSION_DRIVER_MISSING'
  | 'ERR_KVSESSION_STORE_UNAVAILABLE'
  | 'ERR_KVSESSION_STORE_TIMEOUT'
  | 'ERR_KVSESSION_STORE_CLOSED'
  | 'ERR_KVSESSION_NOT_SERIALIZABLE'
  | 'ERR_KVSESSION_TOO_LARGE'
  | 'ERR_KVSESSION_CORRUPT_RECORD'
  | 'ERR_KVSESSION_CONFLICT'
  | 'ERR_KVSESSION_DESTROYED'
  | 'ERR_KVSESSION_HEADERS_SENT'
  | 'ERR_KVSESSION_USAGE';

/** The single error class of kvsession: match on `code`, never on `message`. */
export class KvSessionError extends Error {
  /** Stable machine-readable code, e.g. `ERR_KVSESSION_STORE_UNAVAILABLE`. */
  readonly code: KvSessionErrorCode;
  /** HTTP status Express error handlers should answer with, where one applies. */
  readonly status: number | undefined;
  /** Same as `status`, for error handlers that read `statusCode`. */
  readonly statusCode: number | undefined;
  /** True when the client is not at fault and Express should not expose details. */
  readonly expose: boolean;

  /** `message` and `cause` are redacted here, once for every error: no URL password or token survives into them. */
  constructor(
    code: KvSessionErrorCode,
    message: string,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(
      `kvsession: ${redactSecrets(message)}`,
      options.cause === undefined ? undefined : { cause: redactCause(options.cause) },
    );
    this.name = 'KvSessionError';
    this.code = code;
    this.status = options.status;
    this.statusCode = options.status;
    this.expose = false;
  }
}

/** True when `err` is a KvSessionError, optionally with the given code. */
export function isKvSessionError(err: unknown, code?: KvSessionErrorCode): err is KvSessionError {
  return err instanceof KvSessionError && (code === undefined || err.code === code);
}

/** Wraps any store failure as ERR_KVSESSION_STORE_UNAVAILABLE (503), keeping coded errors as they are. */
export function storeUnavailable(err: unknown, what: string): KvSessionError {
  if (err instanceof KvSessionError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new KvSessionError(
    'ERR_KVSESSION_STORE_UNAVAILABLE',
    `the session store failed during ${what}: ${detail}`,
    {
      status: 503,
      cause: err,
    },
  );
}

/** The error every operation on a closed store rejects with. */
export function storeClosed(storeName: string): KvSessionError {
  return new KvSessionError('ERR_KVSESSION_STORE_CLOSED', `the ${storeName} store is closed`, {
    status: 503,
  });
}
