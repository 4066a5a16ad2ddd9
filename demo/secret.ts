import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The signing secret: `SESSION_SECRET` when set, else the one kept in `<dataDir>/secret`,
 * created on first start (mode 0600) so sessions survive restarts without any setup.
 */
export function loadSecret(dataDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['SESSION_SECRET'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const file = join(dataDir, 'secret');
  const existing = readSecretFile(file);
  if (existing !== undefined) return existing;
  const secret = randomBytes(32).toString('base64url');
  try {
    // 'wx' fails if another process created the file meanwhile; then we use theirs, so both agree.
    writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const raced = readSecretFile(file);
  if (raced !== undefined) return raced;
  // An empty file left by a crash between create and write: replace it.
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return secret;
}

function readSecretFile(file: string): string | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return text === '' ? undefined : text;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
