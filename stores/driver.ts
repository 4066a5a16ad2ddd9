import { KvSessionError } from '../src/errors.js';

/**
 * Imports a store driver only when its URL is used, so users install just the driver they need.
 * A missing package becomes ERR_KVSESSION_DRIVER_MISSING naming the npm install to run.
 */
export async function loadDriver<T>(pkg: string, storeName: string): Promise<T> {
  try {
    return (await import(pkg)) as T;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new KvSessionError(
        'ERR_KVSESSION_DRIVER_MISSING',
        `the ${storeName} store needs the package ${pkg}: run \`npm install ${pkg}\``,
        { cause: err },
      );
    }
    throw err;
  }
}
