import { Signer } from '../../../src/signer.js';

/** A small seeded PRNG (mulberry32): a failing fuzz run is reproduced by its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** One generated Cookie header and the family it came from. */
export interface FuzzCookie {
  readonly family: string;
  readonly header: string;
}

/**
 * Hostile Cookie headers whose `sid` can never carry a valid signature: every family either holds
 * no signed value at all or mutates a genuinely signed one so that its signature text or its ID
 * differs. Any store read they cause is therefore a read for a forged cookie.
 */
export class ForgedCookies {
  readonly #rnd: () => number;
  readonly #signer: Signer;
  readonly #bulks: string[] = [];
  readonly #otherSigner = new Signer('another-secret-that-is-long-enough-0123456789');
  readonly #name: string;

  constructor(seed: number, secret: string, name = 'sid') {
    this.#rnd = seededRandom(seed);
    this.#signer = new Signer(secret);
    this.#name = name;
  }

  /** The families, in the order next() picks among them uniformly. */
  static readonly FAMILIES = [
    'ascii',
    'bytes',
    'unicode',
    'no-equals',
    'duplicates',
    'oversized',
    'tampered',
    'percent',
    'many-pairs',
    'quoted',
  ] as const;

  next(): FuzzCookie {
    const family = ForgedCookies.FAMILIES[
      this.#int(ForgedCookies.FAMILIES.length)
    ] as (typeof ForgedCookies.FAMILIES)[number];
    return { family, header: this.#make(family) };
  }

  #make(family: (typeof ForgedCookies.FAMILIES)[number]): string {
    const n = this.#name;
    switch (family) {
      case 'ascii':
        return this.#chars(this.#int(200), () => String.fromCharCode(0x20 + this.#int(95)));
      case 'bytes':
        return this.#chars(this.#int(200), () => String.fromCharCode(this.#int(256)));
      case 'unicode':
        // Lone surrogates, NUL, RTL marks, emoji and astral characters, in and around the cookie name.
        return `${n}=${this.#chars(this.#int(80), () => this.#codePoint())}; ${this.#chars(5, () => this.#codePoint())}=${this.#forgedValue()}`;
      case 'no-equals':
        return Array.from({ length: 1 + this.#int(6) }, () =>
          this.#pick([n, this.#forgedValue(), ';', ' ', '', this.#token()]),
        ).join(this.#pick(['; ', ';', ' ']));
      case 'duplicates':
        return Array.from(
          { length: 2 + this.#int(5) },
          () => `${this.#pick([n, n, n.toUpperCase(), ` ${n}`, `${n} `])}=${this.#forgedValue()}`,
        ).join('; ');
      case 'oversized':
        return this.#int(2) === 0
          ? `${n}=${this.#forgedValue()}${'A'.repeat(8192 + this.#int(8192))}`
          : `${this.#bulk()}; ${n}=${this.#forgedValue()}`;
      case 'tampered':
        return `${n}=${this.#tampered()}`;
      case 'percent':
        return `${this.#pick([n, '%73id', `${n}%00`])}=${this.#pick(['%', '%E0%A4%A', '%00', '%FF%FE', '%C0%80', '%%%', '%2e%2e'])}${this.#forgedValue()}${this.#pick(['', '%', '%G1'])}`;
      case 'many-pairs':
        return `${'a=b;'.repeat(500 + this.#int(2000))} ${n}=${this.#forgedValue()}`;
      case 'quoted':
        return this.#pick([
          `${n}="${this.#forgedValue()}"`,
          ` ${n} = ${this.#forgedValue()} `,
          `\t${n}=\t${this.#forgedValue()}\t`,
          `${n}="`,
          `${n}=""`,
          `${n}=;`,
          `=${n}`,
          ';;;;',
          '',
        ]);
    }
  }

  /** A correctly shaped `id.signature` whose signature is random, or a signed value then broken. */
  #forgedValue(): string {
    return this.#int(2) === 0 ? `${this.#id()}.${this.#id()}` : this.#tampered();
  }

  /** A genuinely signed cookie changed so it can no longer verify: a different ID or signature text. */
  #tampered(): string {
    const valid = this.#signer.sign(this.#id());
    const dot = valid.lastIndexOf('.');
    switch (this.#int(6)) {
      case 0: {
        // Replace one character (of the ID or of the signature) by a different base64url character.
        const at = this.#pick([this.#int(dot), dot + 1 + this.#int(valid.length - dot - 1)]);
        const old = valid[at] as string;
        const other = B64URL.replace(old, '')[this.#int(63)] as string;
        return valid.slice(0, at) + other + valid.slice(at + 1);
      }
      case 1:
        return valid.slice(0, valid.length - 1 - this.#int(10));
      case 2:
        return valid + this.#pick(['A', '=', '.', '..', ' x']);
      case 3:
        return `${valid.slice(dot + 1)}.${valid.slice(0, dot)}`;
      case 4:
        return this.#otherSigner.sign(this.#id());
      default:
        return valid.toUpperCase() === valid ? `${valid}x` : valid.toUpperCase();
    }
  }

  /** 8–16 KB of junk pairs; built 32 times and reused, since building them costs more than parsing them. */
  #bulk(): string {
    if (this.#bulks.length < 32) {
      this.#bulks.push(
        Array.from({ length: 600 + this.#int(600) }, (_, i) => `k${i}=${this.#token()}`).join('; '),
      );
    }
    return this.#pick(this.#bulks);
  }

  /** An ID-shaped string from the seeded generator, so a seed replays the exact same headers. */
  #id(): string {
    return this.#chars(43, () => this.#b64());
  }

  #b64(): string {
    return B64URL[this.#int(64)] as string;
  }

  #codePoint(): string {
    const pick = this.#int(5);
    if (pick === 0) return String.fromCharCode(0xd800 + this.#int(0x800)); // lone surrogate
    if (pick === 1) return String.fromCodePoint(0x1f300 + this.#int(0x300));
    if (pick === 2)
      return this.#pick(['\u0000', '\u200f', '\ufeff', '\u2028', ';', '=', '"', '\\']);
    return String.fromCodePoint(0x80 + this.#int(0xfff0));
  }

  #token(): string {
    return this.#chars(1 + this.#int(12), () => this.#b64());
  }

  #chars(length: number, one: () => string): string {
    let out = '';
    for (let i = 0; i < length; i++) out += one();
    return out;
  }

  #pick<T>(items: readonly T[]): T {
    return items[this.#int(items.length)] as T;
  }

  #int(below: number): number {
    return Math.floor(this.#rnd() * below);
  }
}
