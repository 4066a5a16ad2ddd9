#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { SessionStore } from '../src/store.js';
import type { SessionInfo } from '../src/user-index.js';
import { checkStoreExists, createStore } from '../stores/index.js';
import { guardStore } from '../src/guarded-store.js';
import { UserIndex } from '../src/user-index.js';
import { parseDuration } from '../src/duration.js';
import { DEFAULT_PREFIX, supports } from '../src/store.js';
import { KvSessionError, isKvSessionError } from '../src/errors.js';
import { redactSecrets } from '../src/redact.js';
import type { RecordCodec } from '../src/record-codec.js';
import { PLAIN_CODEC, SealingCodec } from '../src/record-codec.js';
import { Signer } from '../src/signer.js';

const USAGE = `Usage: kvsession <command> [options]

Commands:
  secret                               print a new random secret (32 bytes, base64url)
  count         --store URL            print how many live sessions the store holds
  prune         --store URL            delete expired sessions; print how many
  user-sessions --store URL --user ID  list a user's live sessions (handles and times, never IDs)
  logout-user   --store URL --user ID  end every session of a user; print how many

Options:
  --store URL         memory://, file:./dir, sqlite://./file.db, redis://host:port, postgres://user@host/db
  --user ID           the user id the app passed to req.session.login()
  --prefix P          namespace inside the store (default ${DEFAULT_PREFIX})
  --timeout D         bound on each store operation, ms or '5s' (default 2000)
  --idle-timeout D    the app's idleTimeout, used to derive "last active" (default 24h)
  --json              user-sessions: print JSON instead of a table
  --sealed            user-sessions, logout-user: the app runs with sealRecords; the secret(s) are read
                      from the KVSESSION_SECRET environment variable (comma-separated, newest first)
  -h, --help          print this help
  --version           print the version

Exit status: 0 success, 1 runtime failure (e.g. store unreachable), 2 bad usage.`;

const OPTIONS = {
  store: { type: 'string' },
  user: { type: 'string' },
  prefix: { type: 'string' },
  timeout: { type: 'string' },
  'idle-timeout': { type: 'string' },
  json: { type: 'boolean' },
  sealed: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

type Flag = keyof typeof OPTIONS;
type Values = { [K in Flag]?: (typeof OPTIONS)[K]['type'] extends 'string' ? string : boolean };

/** Which flags each command accepts besides --prefix/--timeout (store commands) and --help. */
const COMMANDS: Record<string, { store: boolean; flags: readonly Flag[] }> = {
  secret: { store: false, flags: [] },
  count: { store: true, flags: [] },
  prune: { store: true, flags: [] },
  'user-sessions': { store: true, flags: ['user', 'idle-timeout', 'json', 'sealed'] },
  'logout-user': { store: true, flags: ['user', 'sealed'] },
};

// Codes that mean the command line itself is wrong (exit 2) rather than the world (exit 1).
const USAGE_CODES = new Set([
  'ERR_KVSESSION_USAGE',
  'ERR_KVSESSION_BAD_STORE_URL',
  'ERR_KVSESSION_UNKNOWN_STORE',
  'ERR_KVSESSION_BAD_OPTION',
  'ERR_KVSESSION_NO_SECRET',
  'ERR_KVSESSION_WEAK_SECRET',
]);

/** Where the CLI writes; injectable so it can run in-process. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text + '\n'),
  err: (text) => process.stderr.write(text + '\n'),
};

/** Runs one CLI invocation (`argv` without node and script); resolves the exit status. */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  try {
    const { command, values } = parseCommandLine(argv);
    if (values.help === true) return print(io, USAGE);
    if (values.version === true) return print(io, readVersion());
    if (command === 'secret') return print(io, randomBytes(32).toString('base64url'));
    await withStore(values, async (store) => {
      io.out(await runStoreCommand(command, store, values));
    });
    return 0;
  } catch (err) {
    io.err(errorLine(err));
    return isKvSessionError(err) && USAGE_CODES.has(err.code) ? 2 : 1;
  }
}

function parseCommandLine(argv: readonly string[]): { command: string; values: Values } {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    // parseArgs reports unknown flags and missing flag values; both are usage errors.
    throw usage(withSuggestion(err instanceof Error ? err.message : String(err)));
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help === true || values.version === true) return { command: command ?? '', values };
  if (command === undefined) throw usage('no command given');
  const spec = COMMANDS[command];
  if (spec === undefined)
    throw usage(`unknown command "${command}"; commands: ${Object.keys(COMMANDS).join(', ')}`);
  if (positionals.length > 1) throw usage(`unexpected argument "${positionals[1] ?? ''}"`);
  const allowed = new Set<string>(
    spec.store ? ['store', 'prefix', 'timeout', ...spec.flags] : spec.flags,
  );
  for (const flag of Object.keys(values)) {
    if (!allowed.has(flag)) throw usage(`${command} does not take --${flag}`);
  }
  if (spec.store && (values.store === undefined || values.store === ''))
    throw usage(`${command} needs --store URL`);
  if (spec.store && /^memory:/i.test(values.store ?? '')) {
    throw usage(
      `${command} cannot inspect memory://: that store lives inside the app's process, and this command would only see a new, empty one; pass the --store URL your app uses`,
    );
  }
  if (spec.flags.includes('user') && (values.user === undefined || values.user === ''))
    throw usage(`${command} needs --user ID`);
  return { command, values };
}

/** Opens the store, runs `fn` with every operation bounded, and always closes the store. */
async function withStore(
  values: Values,
  fn: (store: SessionStore) => Promise<void>,
): Promise<void> {
  const timeout = parseDuration(durationArg(values.timeout) ?? 2000, '--timeout');
  checkStoreExists(values.store ?? '');
  const raw = createStore(values.store ?? '', { prefix: values.prefix ?? DEFAULT_PREFIX, timeout });
  const store = guardStore(raw, timeout);
  let failed = true;
  try {
    await fn(store);
    failed = false;
  } finally {
    // A store that already failed may fail to close too; the first error is the one to report.
    await store.close().catch((err: unknown) => {
      if (!failed) throw err;
    });
  }
}

async function runStoreCommand(
  command: string,
  store: SessionStore,
  values: Values,
): Promise<string> {
  const user = values.user ?? '';
  switch (command) {
    case 'count':
      if (!supports(store, 'count')) throw lacks(store, 'count');
      return String(await store.count());
    case 'prune':
      if (!supports(store, 'prune')) throw lacks(store, 'prune');
      return String(await store.prune());
    case 'logout-user':
      // idleMs only shapes lastActiveAt, which destroyAll never reports.
      return String(
        await new UserIndex(store, 1, Date.now, undefined, { codec: codecFor(values) }).destroyAll(
          user,
        ),
      );
    case 'user-sessions': {
      const idleMs = parseDuration(durationArg(values['idle-timeout']) ?? '24h', '--idle-timeout');
      const sessions = await new UserIndex(store, idleMs, Date.now, undefined, {
        codec: codecFor(values),
      }).list(user);
      return values.json === true ? JSON.stringify(sessions) : formatSessions(sessions);
    }
    default:
      throw usage(`unknown command "${command}"`);
  }
}

/**
 * The codec of the app's records. Sealed user indexes can only be found with the app's secret, which
 * comes from the environment, never from the command line (where `ps` and shell history would show it).
 */
function codecFor(values: Values): RecordCodec {
  if (values.sealed !== true) return PLAIN_CODEC;
  const secrets = (process.env['KVSESSION_SECRET'] ?? '').split(',').filter((s) => s !== '');
  new Signer(secrets); // validates: ERR_KVSESSION_NO_SECRET / ERR_KVSESSION_WEAK_SECRET
  return new SealingCodec(secrets);
}

/** parseArgs's message for an unknown flag, plus the nearest known flag when one is close. */
function withSuggestion(message: string): string {
  const unknown = /Unknown option '--?([^']+)'/.exec(message)?.[1];
  if (unknown === undefined) return message;
  const nearest = Object.keys(OPTIONS)
    .map((flag) => ({ flag, distance: editDistance(unknown, flag) }))
    .sort((a, b) => a.distance - b.distance)[0];
  return nearest !== undefined && nearest.distance <= 2
    ? `unknown flag --${unknown}; did you mean --${nearest.flag}?`
    : message;
}

/** Levenshtein distance, for suggesting the flag a typo meant. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The usage error for a command whose optional store member this store lacks. */
function lacks(store: SessionStore, member: string): KvSessionError {
  return usage(`the ${store.name} store does not implement ${member}()`);
}

/** A table of sessions, one per line, aligned for reading in a terminal. */
function formatSessions(sessions: readonly SessionInfo[]): string {
  if (sessions.length === 0) return '0 sessions';
  const rows = sessions.map((s) => [
    s.handle,
    iso(s.createdAt),
    iso(s.lastActiveAt),
    iso(s.expiresAt),
  ]);
  const header = ['HANDLE', 'CREATED', 'LAST ACTIVE', 'EXPIRES'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A bare number on the command line means milliseconds, as it does in the options. */
function durationArg(text: string | undefined): string | number | undefined {
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : text;
}

function iso(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** One line, `kvsession: CODE: message`, whatever was thrown; never a stack trace. */
function errorLine(err: unknown): string {
  const rawCode = (err as { code?: unknown } | null)?.code;
  const code = typeof rawCode === 'string' ? rawCode : 'ERR_KVSESSION_UNEXPECTED';
  // KvSessionErrors are redacted already; anything else (a driver's own error) is redacted here.
  const message = redactSecrets(err instanceof Error ? err.message : String(err)).replace(
    /^kvsession: /,
    '',
  );
  return `kvsession: ${code}: ${message}`.replace(/\s+/g, ' ').trim();
}

function usage(message: string): KvSessionError {
  return new KvSessionError('ERR_KVSESSION_USAGE', `${message} (see kvsession --help)`);
}

function print(io: CliIo, text: string): number {
  io.out(text);
  return 0;
}

/** The package version, found by walking up from this file (it runs from cli/ and from dist/cli/). */
function readVersion(): string {
  for (const up of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === 'kvsession' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // Not this level; try the next one up.
    }
  }
  return 'unknown';
}

/** True when this module is the process entry point, including through npm's bin symlink. */
function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // Exit explicitly: a driver that keeps reconnecting in the background must not hold the shell.
  runCli(process.argv.slice(2)).then(
    (status) => process.exit(status),
    (err: unknown) => {
      process.stderr.write(errorLine(err) + '\n');
      process.exit(1);
    },
  );
}
