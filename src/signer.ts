import { createHmac, timingSafeEqual } from 'node:crypto';
import { KvSessionError } from './errors.js';

/** The minimum secret length, in characters. */
export const MIN_SECRET_LENGTH = 32;

/** How a cookie value fared: absent and tampered stay distinct so logs and metrics can tell them apart. */
export type VerifyResult =
  | { readonly status: 'absent' }
  | { readonly status: 'tampered' }
  | { readonly status: 'valid'; readonly id: string; readonly rotated: boolean };

const HOW_TO_MAKE_ONE =
  'Generate one with `npx kvsession secret` and pass it as `secret` (e.g. from process.env.SESSION_SECRET).';

// A session ID is 32 random bytes as base64url: exactly 43 characters, no padding.
const SIGNATURE_LENGTH = 43;

/** Signs and verifies session IDs with HMAC-SHA-256; the first secret signs, every secret verifies. */
export class Signer {
  readonly #secrets: readonly string[];

  /** Validates the secrets: throws ERR_KVSESSION_NO_SECRET / ERR_KVSESSION_WEAK_SECRET. */
  constructor(secret: string | readonly string[] | undefined) {
    // Options often come from untyped config (env, JSON): a number or object must fail with a code, not a TypeError.
    const secrets: unknown[] =
      secret === undefined || secret === null
        ? []
        : Array.isArray(secret)
          ? [...(secret as unknown[])]
          : [secret];
    if (secrets.length === 0 || secrets.every((s) => s === '')) {
      throw new KvSessionError(
        'ERR_KVSESSION_NO_SECRET',
        `a secret is required to sign session cookies. ${HOW_TO_MAKE_ONE}`,
      );
    }
    for (const s of secrets) {
      if (typeof s !== 'string' || s.length < MIN_SECRET_LENGTH) {
        throw new KvSessionError(
          'ERR_KVSESSION_WEAK_SECRET',
          `every secret must be a string of at least ${MIN_SECRET_LENGTH} characters. ${HOW_TO_MAKE_ONE}`,
        );
      }
    }
    this.#secrets = secrets as string[];
  }

  /** Returns `id.signature` signed with the newest secret. */
  sign(id: string): string {
    return `${id}.${mac(this.#secrets[0] as string, id)}`;
  }

  /** Checks a cookie value against every secret in constant time per secret. */
  verify(value: string | undefined): VerifyResult {
    if (value === undefined || value === '') return { status: 'absent' };
    const dot = value.lastIndexOf('.');
    if (dot <= 0 || value.length - dot - 1 !== SIGNATURE_LENGTH) return { status: 'tampered' };
    const id = value.slice(0, dot);
    const given = Buffer.from(value.slice(dot + 1), 'latin1');
    for (let i = 0; i < this.#secrets.length; i++) {
      // Compare the base64url text, not decoded bytes: the last character carries
      // 2 unused bits, so decoding would accept 4 spellings of one signature.
      const expected = Buffer.from(mac(this.#secrets[i] as string, id), 'latin1');
      if (expected.length === given.length && timingSafeEqual(expected, given)) {
        return { status: 'valid', id, rotated: i > 0 };
      }
    }
    return { status: 'tampered' };
  }
}

function mac(secret: string, id: string): string {
  return createHmac('sha256', secret).update(id).digest('base64url');
}
