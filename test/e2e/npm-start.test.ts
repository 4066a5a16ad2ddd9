import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sparePort } from '../helpers/services.js';

const root = join(import.meta.dirname, '..', '..');
// npm start compiles the tools build first: slow on a loaded machine, bounded all the same.
const START_LIMIT_MS = 180_000;

/** True while a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start', () => {
  it(
    'SIGTERM to the npm process stops the demo server too: no orphan keeps the port',
    async () => {
      const data = await mkdtemp(join(tmpdir(), 'kvsession-start-'));
      const port = await sparePort();
      const npm = spawn('npm', ['start'], {
        cwd: root,
        env: {
          ...process.env,
          PORT: String(port),
          HOST: '127.0.0.1',
          KVSESSION_DEMO_DATA: data,
          npm_config_loglevel: 'silent',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      try {
        let output = '';
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`npm start did not listen within the limit:\n${output}`)),
            START_LIMIT_MS,
          );
          npm.stdout.on('data', (chunk: Buffer) => {
            output += chunk.toString();
            if (output.includes(`:${port}`)) {
              clearTimeout(timer);
              resolve();
            }
          });
          npm.once('exit', (code) =>
            reject(new Error(`npm start exited early (${String(code)}):\n${output}`)),
          );
        });
        expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
        const exited = new Promise<number | null>((resolve) => npm.once('exit', resolve));
        npm.kill('SIGTERM');
        await exited;
        // The server process, whatever its pid, no longer accepts connections on its port.
        await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
        expect(output).toContain('SIGTERM, shutting down');
      } finally {
        if (npm.pid !== undefined && alive(npm.pid)) npm.kill('SIGKILL');
        await rm(data, { recursive: true, force: true });
      }
    },
    START_LIMIT_MS + 20_000,
  );
});
