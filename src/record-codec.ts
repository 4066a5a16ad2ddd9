import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
} from 'node:crypto';

/**
 * How record text is kept in the store. The plain codec stores it as is; the sealing codec
 * (`sealRecords: true`) encrypts and authenticates it, bound to the store key it is written under.
 * The store only ever sees and compares the output (compare-and-set works on that exact text).
 */
export interface RecordCodec {
  /** True when records are sealed. */
  readonly sealed: boolean;
  /** The store text for `plain` written under `key`. */
  seal(key: string, plain: string): string;
  /** The plain text of store text found under `key`; undefined when it was not sealed by us for that key. */
  open(key: string, text: string): string | undefined;
  /** The store keys of a user's index, the one written to first (several only while a sealing secret is rotated). */
  userKeys(userId: string): readonly string[];
}

/** Records as plain text; a user's index under `user:` + SHA-256 of the user id. */
export const PLAIN_CODEC: RecordCodec = Object.freeze({
  sealed: false,
  seal: (_key: string, plain: string): string => plain,
  open: (_key: string, text: string): string => text,
  userKeys: (userId: string): readonly string[] => [hashedUserKey(userId)],
});

/**
 * The store key of a user's index without sealing: `user:` + SHA-256 of the user id. Hashed so
 * any user id (long, or holding `:` or `/`) makes a safe key of fixed length; the `:` keeps it
 * out of session counts.
 */
export function hashedUserKey(userId: string): string {
  return 'user:' + createHash('sha256').update(userId).digest('base64url');
}

// Sealed text: VERSION, then base64url of nonce (12 bytes) | ciphertext | GCM tag (16 bytes).
const VERSION = 's1.';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
// Domain separation: one secret yields unrelated keys for sealing and for naming user indexes.
const SALT = 'kvsession sealRecords';
const SEAL_INFO = 'kvsession v1 record encryption (AES-256-GCM)';
const USER_INFO = 'kvsession v1 user index name (HMAC-SHA-256)';

interface Keys {
  readonly seal: Buffer;
  readonly user: Buffer;
}

/**
 * AES-256-GCM with a random 96-bit nonce per write and the store key as additional authenticated
 * data, under a key derived from each secret with HKDF-SHA-256: the first secret seals, every
 * secret opens (rotation). A record copied under another key, edited, or written without the
 * secret does not open, and reads as no session. User index keys become an HMAC of the user id,
 * so a leaked store does not reveal user ids by hashing candidates.
 */
export class SealingCodec implements RecordCodec {
  readonly sealed = true;
  readonly #keys: readonly Keys[];

  /** `secrets`: the validated session secrets, newest first. */
  constructor(secrets: readonly string[]) {
    this.#keys = secrets.map((secret) => ({
      seal: derive(secret, SEAL_INFO),
      user: derive(secret, USER_INFO),
    }));
  }

  /** Encrypts `plain` bound to `key`. */
  seal(key: string, plain: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', (this.#keys[0] as Keys).seal, nonce);
    cipher.setAAD(Buffer.from(key, 'utf8'));
    const body = Buffer.concat([
      nonce,
      cipher.update(plain, 'utf8'),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    return VERSION + body.toString('base64url');
  }

  /** Decrypts text sealed under `key` by any configured secret; undefined for anything else. */
  open(key: string, text: string): string | undefined {
    if (!text.startsWith(VERSION)) return undefined;
    const body = Buffer.from(text.slice(VERSION.length), 'base64url');
    if (body.length < NONCE_BYTES + TAG_BYTES) return undefined;
    const nonce = body.subarray(0, NONCE_BYTES);
    const tag = body.subarray(body.length - TAG_BYTES);
    const ciphertext = body.subarray(NONCE_BYTES, body.length - TAG_BYTES);
    for (const keys of this.#keys) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', keys.seal, nonce, {
          authTagLength: TAG_BYTES,
        });
        decipher.setAAD(Buffer.from(key, 'utf8'));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
      } catch {
        // Not this secret's, or tampered: try the next secret; none left means not ours.
      }
    }
    return undefined;
  }

  /** `user:` + HMAC of the user id under each secret's index key, newest first. */
  userKeys(userId: string): readonly string[] {
    return this.#keys.map(
      (keys) => 'user:' + createHmac('sha256', keys.user).update(userId).digest('base64url'),
    );
  }
}

function derive(secret: string, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), SALT, info, 32));
}
