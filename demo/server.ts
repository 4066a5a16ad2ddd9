import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { isKvSessionError } from '../src/errors.js';
import { createDemoApp } from './app.js';
import { loadSecret } from './secret.js';

// Configuration comes from the environment only, so `npm start` needs no flags:
// PORT (3000), HOST (127.0.0.1), SESSION_STORE (SQLite under the data dir),
// SESSION_SECRET (else generated once into <data dir>/secret), KVSESSION_DEMO_DATA (./.data).
const env = process.env;
const dataDir = env['KVSESSION_DEMO_DATA'] ?? './.data';
const storeUrl = env['SESSION_STORE'] ?? `sqlite://${dataDir}/sessions.db`;
const host = env['HOST'] ?? '127.0.0.1';
const port = Number(env['PORT'] ?? 3000);

/** Prints one line naming the error code and exits: a newcomer sees what to fix, not a stack trace. */
function fail(err: unknown): never {
  const code = isKvSessionError(err)
    ? err.code
    : ((err as { code?: unknown } | null)?.code ?? 'error');
  const message = err instanceof Error ? err.message : String(err);
  console.error(`kvsession demo: ${String(code)}: ${message.replace(/\s+/g, ' ')}`);
  process.exit(1);
}

/** A store URL fit for a log line: any password replaced. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.href;
  } catch {
    return url;
  }
}

if (!Number.isInteger(port) || port < 0 || port > 65535)
  fail(new Error(`PORT must be 0-65535, got ${JSON.stringify(env['PORT'])}`));

let demo: ReturnType<typeof createDemoApp>;
try {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  demo = createDemoApp({ secret: loadSecret(dataDir), store: storeUrl });
} catch (err) {
  fail(err);
}
const { app, sessions } = demo;

const server = app.listen(port, host, () => {
  const { port: actual } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  console.log(
    `kvsession demo: http://${shownHost}:${actual} (store: ${redact(storeUrl)}, data: ${dataDir})`,
  );
});
server.on('error', fail);

let closing = false;
/** Stops taking connections, lets in-flight requests finish, then closes the store. */
async function shutdown(signal: string): Promise<void> {
  if (closing) {
    // A second Ctrl-C means "now".
    process.exit(1);
  }
  closing = true;
  console.log(`kvsession demo: ${signal}, shutting down`);
  // Never hang on a stuck keep-alive connection or store: give up after a few seconds.
  setTimeout(() => process.exit(1), 5000).unref();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await sessions.close();
  process.exitCode = 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    shutdown(signal).catch(fail);
  });
}
