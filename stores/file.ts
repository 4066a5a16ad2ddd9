import type { SessionStore, StoreEntry, StoreOptions } from '../src/store.js';
import { DEFAULT_PREFIX, PRUNE_PROGRESS_EVERY, isSessionKey } from '../src/store.js';
import { storeUnavailable, storeClosed } from '../src/errors.js';
import {
  KeyQueue,
  RecordDir,
  FILE_CONCURRENCY,
  forEachLimit,
  resolveLocation,
  type FileLocation,
  type ListedFile,
} from './file-records.js';

/** Options of the file store: where (`dir` or `url`, see FileLocation) and the namespace. */
export interface FileStoreOptions extends StoreOptions, FileLocation {}

// A temp file younger than this may be another process's write in flight, so prune leaves it.
const TEMP_AGE_MS = 5_000;

/**
 * One JSON file per record (keyv's `{"value","expires"}` envelope), replaced by temp file + rename
 * so a reader or a crash never sees a torn record. Operations on one key are queued, which makes
 * create/update/touch/delete atomic within this process. Across processes sharing a directory only
 * create-when-absent is (the kernel refuses a hard link onto an existing name); update, touch,
 * create over an expired record and prune are read-then-rename/unlink and can race with another
 * process in the instant between the two steps, so the store declares `atomic: false`.
 */
export class FileStore implements SessionStore {
  readonly name = 'file';
  readonly prefix: string;
  readonly capabilities = { atomic: false, nativeExpiry: false } as const;
  readonly #files: RecordDir;
  readonly #queue = new KeyQueue();
  #closed = false;

  /** Builds the store without touching the disk; `timeout` is accepted but local files need none. */
  constructor(options: string | FileStoreOptions) {
    const opts = typeof options === 'string' ? {} : options;
    this.prefix = opts.prefix ?? DEFAULT_PREFIX;
    this.#files = resolveLocation(options);
  }

  /** The absolute directory the records live in. */
  get dir(): string {
    return this.#files.dir;
  }

  /** How many keys have a queued operation (for leak tests): zero when idle. */
  get pending(): number {
    return this.#queue.size;
  }

  async get(key: string): Promise<StoreEntry | undefined> {
    return this.#run('get', () => this.#live(this.prefix + key));
  }

  async create(key: string, value: string, expiresAt: number): Promise<boolean> {
    const full = this.prefix + key;
    return this.#run('create', () =>
      this.#queue.run(full, async () => {
        const text = await this.#files.read(full);
        if (text === undefined) return this.#files.write(full, envelope(value, expiresAt), true);
        if (isLive(decodeEntry(text))) return false;
        await this.#files.write(full, envelope(value, expiresAt));
        return true;
      }),
    );
  }

  async update(key: string, expected: string, value: string, expiresAt: number): Promise<boolean> {
    const full = this.prefix + key;
    return this.#run('update', () =>
      this.#queue.run(full, async () => {
        if ((await this.#live(full))?.value !== expected) return false;
        await this.#files.write(full, envelope(value, expiresAt));
        return true;
      }),
    );
  }

  async touch(key: string, expiresAt: number): Promise<boolean> {
    const full = this.prefix + key;
    return this.#run('touch', () =>
      this.#queue.run(full, async () => {
        const entry = await this.#live(full);
        if (entry === undefined) return false;
        await this.#files.write(full, envelope(entry.value, expiresAt));
        return true;
      }),
    );
  }

  async delete(key: string): Promise<boolean> {
    const full = this.prefix + key;
    return this.#run('delete', () => this.#queue.run(full, () => this.#files.remove(full)));
  }

  async prune(progress?: () => void): Promise<number> {
    return this.#run('prune', async () => {
      let removed = 0;
      let examined = 0;
      await this.#sweep(async (file) => {
        // A file at a time, a big directory takes longer than one store timeout: report every batch.
        if (++examined % PRUNE_PROGRESS_EVERY === 0) progress?.();
        await this.#queue.run(file.fullKey, async () => {
          const text = await this.#files.read(file.fullKey);
          // An unparseable record can only be debris (writes are atomic), so it goes like an expired one.
          if (
            text !== undefined &&
            !isLive(decodeEntry(text)) &&
            (await this.#files.remove(file.fullKey))
          )
            removed++;
        });
      });
      return removed;
    });
  }

  async count(): Promise<number> {
    return this.#run('count', async () => {
      const sessions = (await this.#mine()).filter(
        (f) => !f.temp && isSessionKey(f.fullKey, this.prefix.length),
      );
      let live = 0;
      await forEachLimit(sessions, FILE_CONCURRENCY, async (file) => {
        if (await this.#live(file.fullKey)) live++;
      });
      return live;
    });
  }

  async clear(): Promise<void> {
    await this.#run('clear', () =>
      this.#sweep(async (file) => {
        await this.#queue.run(file.fullKey, () => this.#files.remove(file.fullKey));
      }),
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue.idle();
  }

  async #live(full: string): Promise<StoreEntry | undefined> {
    const entry = decodeEntry(await this.#files.read(full));
    return isLive(entry) ? entry : undefined;
  }

  /** Calls `onRecord` for each record under our prefix, after deleting our stale temp files. */
  async #sweep(onRecord: (file: ListedFile) => Promise<void>): Promise<void> {
    await forEachLimit(await this.#mine(), FILE_CONCURRENCY, (file) =>
      file.temp ? this.#files.sweepTemp(file, TEMP_AGE_MS) : onRecord(file),
    );
  }

  async #mine(): Promise<ListedFile[]> {
    return (await this.#files.list()).filter((file) => file.fullKey.startsWith(this.prefix));
  }

  async #run<T>(what: string, op: () => Promise<T>): Promise<T> {
    if (this.#closed) throw storeClosed(this.name);
    try {
      return await op();
    } catch (err) {
      throw storeUnavailable(err, `${what} in ${this.#files.dir}`);
    }
  }
}

/** Creates the one-file-per-session store (`file:./sessions`, `file:///abs/dir`, or `{ dir }`). */
export function createFileStore(options: string | FileStoreOptions): FileStore {
  return new FileStore(options);
}

function envelope(value: string, expiresAt: number): string {
  return JSON.stringify({ value, expires: expiresAt });
}

// Anything that is not keyv's envelope with a text value reads as missing rather than failing the request.
function decodeEntry(text: string | undefined): StoreEntry | undefined {
  if (text === undefined) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  const { value, expires } = (data ?? {}) as { value?: unknown; expires?: unknown };
  if (typeof value !== 'string') return undefined;
  if (expires === null || expires === undefined)
    return { value, expiresAt: Number.POSITIVE_INFINITY };
  return typeof expires === 'number' ? { value, expiresAt: expires } : undefined;
}

function isLive(entry: StoreEntry | undefined): entry is StoreEntry {
  return entry !== undefined && entry.expiresAt > Date.now();
}
