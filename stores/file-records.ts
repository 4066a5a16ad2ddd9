import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { EventEmitter } from 'node:events';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KeyvStoreAdapter, StoredData } from 'keyv';
import { KvSessionError } from '../src/errors.js';

/** Where a file store lives; give `dir` or `url`. */
export interface FileLocation {
  /** Directory holding one file per record, created on first write; relative to the working directory. */
  dir?: string;
  /** `file:./sessions` (relative to the working directory) or `file:///abs/dir`. */
  url?: string;
  /** fsync every record and the directory: survives power loss, not just a crashed process. @default false */
  fsync?: boolean;
}

/** How many files list-based operations read or delete at once. */
export const FILE_CONCURRENCY = 32;

/** One record file as listed: its full key (prefix included) and whether it is a leftover temp file. */
export interface ListedFile {
  readonly fullKey: string;
  readonly path: string;
  readonly temp: boolean;
}

// Temp files start with '.', which a record name never does, and carry a fixed-width random tag.
const TEMP_NAME = /^\.(.+)\.[0-9a-f]{16}\.tmp$/;
// Where hard links are unsupported (some network and FAT file systems) create falls back to rename.
const NO_LINK = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * A file name for a full key that is unambiguous and filesystem-safe even on case-insensitive
 * file systems (macOS, Windows): only `[a-z0-9._-]` stay literal, everything else (upper case
 * included, since session keys are mixed-case base64url) becomes `%XX` with upper-case hex.
 */
export function fileNameOf(fullKey: string): string {
  const name = encodeURIComponent(fullKey).replace(/%[0-9A-F]{2}|[A-Z!'()*~]/g, (c) =>
    c.length === 3 ? c : `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  // A leading '.' would make '.', '..', hidden files and our own temp names possible.
  return name.startsWith('.') ? `%2E${name.slice(1)}` : name;
}

/** The full key a record or temp file name stands for, or undefined for a foreign file. */
export function parseFileName(name: string): { fullKey: string; temp: boolean } | undefined {
  const temp = TEMP_NAME.exec(name);
  const encoded = temp ? temp[1] : name;
  if (encoded === undefined || encoded.startsWith('.')) return undefined;
  try {
    return { fullKey: decodeURIComponent(encoded), temp: temp !== null };
  } catch {
    return undefined;
  }
}

/** True for the "no such file" family of errors, the only ones that mean "not found". */
export function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/** A directory of one-file-per-record text files, written by temp file + atomic rename. */
export class RecordDir {
  readonly dir: string;
  readonly #fsync: boolean;

  /** `fsync` makes every write durable across power loss, not just process crashes. */
  constructor(dir: string, fsync: boolean) {
    this.dir = dir;
    this.#fsync = fsync;
  }

  /** The text under `fullKey`, or undefined when no file exists. Other errors reject. */
  async read(fullKey: string): Promise<string | undefined> {
    try {
      return await readFile(this.#path(fullKey), 'utf8');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /**
   * Replaces the file under `fullKey` atomically: readers see the old or the new text, never a mix.
   * With `exclusive`, writes only if no file exists (checked by the kernel, so across processes
   * too) and resolves false when one does.
   */
  async write(fullKey: string, text: string, exclusive = false): Promise<boolean> {
    const target = this.#path(fullKey);
    const tmp = join(this.dir, `.${fileNameOf(fullKey)}.${randomBytes(8).toString('hex')}.tmp`);
    await this.#writeTemp(tmp, text);
    let outcome: 'linked' | 'exists' | 'renamed';
    try {
      const linked = exclusive ? await linkNew(tmp, target) : 'unsupported';
      if (linked === 'unsupported') await rename(tmp, target);
      outcome = linked === 'unsupported' ? 'renamed' : linked;
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    // The record is in place (or refused); a temp name left here by a failed unlink is swept by prune.
    if (outcome !== 'renamed') await unlink(tmp).catch(() => undefined);
    if (outcome === 'exists') return false;
    if (this.#fsync) await this.#syncDir();
    return true;
  }

  /** Deletes the file under `fullKey`; resolves whether one existed. */
  async remove(fullKey: string): Promise<boolean> {
    return removeFile(this.#path(fullKey));
  }

  /** Every record and temp file of ours in the directory; a directory not yet created is empty. */
  async list(): Promise<ListedFile[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
    const out: ListedFile[] = [];
    for (const name of names) {
      const parsed = parseFileName(name);
      if (parsed) out.push({ ...parsed, path: join(this.dir, name) });
    }
    return out;
  }

  /** Deletes temp files older than `ageMs`: debris of a crash mid-write, never an in-flight write. */
  async sweepTemp(file: ListedFile, ageMs: number): Promise<void> {
    try {
      if ((await stat(file.path)).mtimeMs < Date.now() - ageMs) await removeFile(file.path);
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }

  #path(fullKey: string): string {
    return join(this.dir, fileNameOf(fullKey));
  }

  async #writeTemp(tmp: string, text: string): Promise<void> {
    let handle;
    try {
      handle = await open(tmp, 'wx', 0o600);
    } catch (err) {
      if (!isMissing(err)) throw err;
      // The directory is created on first write, owner-only because records hold session data.
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      handle = await open(tmp, 'wx', 0o600);
    }
    try {
      await handle.writeFile(text, 'utf8');
      if (this.#fsync) await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async #syncDir(): Promise<void> {
    const handle = await open(this.dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

// link() fails with EEXIST when the target exists: a create-only check made by the kernel.
async function linkNew(tmp: string, target: string): Promise<'linked' | 'exists' | 'unsupported'> {
  try {
    await link(tmp, target);
    return 'linked';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return 'exists';
    if (code !== undefined && NO_LINK.has(code)) return 'unsupported';
    throw err;
  }
}

async function removeFile(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}

/** Runs operations one at a time per key, in call order; a key with nothing pending holds no memory. */
export class KeyQueue {
  readonly #tails = new Map<string, Promise<void>>();

  /** How many keys have an operation pending (for leak tests). */
  get size(): number {
    return this.#tails.size;
  }

  /** Runs `op` once every earlier operation on `key` has settled. */
  async run<T>(key: string, op: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key);
    let release: () => void = () => undefined;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous ? previous.then(() => mine) : mine;
    this.#tails.set(key, tail);
    try {
      if (previous) await previous;
      return await op();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** Resolves once every operation queued so far has settled. */
  async idle(): Promise<void> {
    await Promise.all(this.#tails.values());
  }
}

/** Calls `fn` on every item with at most `limit` calls in flight. */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * A keyv storage adapter over the same file layout: `new Keyv({ store: new KeyvFileStore(url) })`.
 * It stores the text keyv's serializer produces and leaves expiry to keyv, which checks it on read.
 */
export class KeyvFileStore extends EventEmitter implements KeyvStoreAdapter {
  readonly opts: { readonly dialect: 'file'; readonly dir: string };
  namespace?: string | undefined;
  readonly #files: RecordDir;

  /** Builds the adapter without touching the disk. */
  constructor(options: string | FileLocation) {
    super();
    this.#files = resolveLocation(options);
    this.opts = { dialect: 'file', dir: this.#files.dir };
  }

  async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    return (await this.#files.read(key)) as StoredData<Value> | undefined;
  }

  async set(key: string, value: unknown): Promise<boolean> {
    if (typeof value !== 'string') {
      throw new KvSessionError(
        'ERR_KVSESSION_BAD_ARGUMENT',
        'KeyvFileStore stores text: keep a serializer on the Keyv instance',
      );
    }
    return this.#files.write(key, value);
  }

  async delete(key: string): Promise<boolean> {
    return this.#files.remove(key);
  }

  /** Deletes this namespace's records (every record of ours without a namespace). */
  async clear(): Promise<void> {
    const start = this.namespace === undefined ? '' : `${this.namespace}:`;
    const records = (await this.#files.list()).filter(
      (f) => !f.temp && f.fullKey.startsWith(start),
    );
    await forEachLimit(records, FILE_CONCURRENCY, async (f) => {
      await this.#files.remove(f.fullKey);
    });
  }

  async disconnect(): Promise<void> {}
}

/** The directory a `file:` URL names: `file:./rel`, `file:rel`, `file:/abs`, `file:///abs`, `file://./rel`. */
export function fileUrlToDir(url: string): string {
  const hint = 'expected file:./sessions or file:///abs/dir';
  if (!/^file:/i.test(url))
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_STORE_URL',
      `${JSON.stringify(url)} is not a file: URL; ${hint}`,
    );
  const rest = url.slice('file:'.length);
  let path: string;
  try {
    if (rest.startsWith('///') || /^\/\/localhost\//i.test(rest))
      path = fileURLToPath(`file:${rest}`);
    else if (rest.startsWith('//') && !rest.startsWith('//.'))
      throw new Error('a file store cannot be on a remote host');
    else path = decodeURIComponent(rest.startsWith('//') ? rest.slice(2) : rest);
  } catch (err) {
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_STORE_URL',
      `${JSON.stringify(url)}: ${String(err)}; ${hint}`,
      { cause: err },
    );
  }
  if (path === '')
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_STORE_URL',
      `${JSON.stringify(url)} names no directory; ${hint}`,
    );
  return resolve(path);
}

/** The record directory that a URL, a path or `{ dir | url, fsync }` names. */
export function resolveLocation(options: string | FileLocation): RecordDir {
  const opts =
    typeof options !== 'string'
      ? options
      : /^file:/i.test(options)
        ? { url: options }
        : { dir: options };
  return new RecordDir(locate(opts), opts.fsync ?? false);
}

function locate(opts: FileLocation): string {
  if (opts.dir !== undefined && opts.url !== undefined) {
    throw new KvSessionError(
      'ERR_KVSESSION_BAD_OPTION',
      'give the file store either dir or url, not both',
    );
  }
  if (opts.dir !== undefined && opts.dir !== '') return resolve(opts.dir);
  if (opts.url !== undefined) return fileUrlToDir(opts.url);
  throw new KvSessionError(
    'ERR_KVSESSION_BAD_OPTION',
    'the file store needs a directory: { dir: "./sessions" } or file:./sessions',
  );
}
