import type { ChildProcess } from 'node:child_process';
import type { ProcessResult } from './from-source.js';
import { collect, startFromSource } from './from-source.js';

// Bounds on start-up and shutdown: guards against a hung child, not speed assertions.
const START_LIMIT_MS = 30_000;
const STOP_LIMIT_MS = 15_000;

/** The demo server (demo/server.ts) running from source in a child process. */
export class DemoProcess {
  readonly url: string;
  readonly port: number;
  readonly #child: ChildProcess;
  readonly #exit: Promise<ProcessResult>;

  private constructor(child: ChildProcess, exit: Promise<ProcessResult>, port: number) {
    this.#child = child;
    this.#exit = exit;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
  }

  /** Starts the demo with `dataDir` and `storeUrl` on `port` (0: any free port); resolves once it listens. */
  static async start(dataDir: string, storeUrl: string, port = 0): Promise<DemoProcess> {
    const child = startFromSource('demo/server.ts', [], {
      env: {
        PORT: String(port),
        HOST: '127.0.0.1',
        KVSESSION_DEMO_DATA: dataDir,
        SESSION_STORE: storeUrl,
        SESSION_SECRET: '',
      },
    });
    const exit = collect(child, 10 * 60_000);
    const listening = new Promise<number>((resolve, reject) => {
      let seen = '';
      child.stdout?.on('data', (chunk: string) => {
        seen += chunk;
        const match = /http:\/\/127\.0\.0\.1:(\d+)/.exec(seen);
        if (match !== null) resolve(Number(match[1]));
      });
      void exit.then((r) =>
        reject(
          new Error(
            `demo exited before listening (status ${r.status}, signal ${r.signal}): ${r.stderr.trim()}`,
          ),
        ),
      );
      setTimeout(() => reject(new Error('demo did not start listening')), START_LIMIT_MS).unref();
    });
    try {
      return new DemoProcess(child, exit, await listening);
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
  }

  /** Sends `signal` and resolves how the process ended; SIGKILLs it if it has not ended in time. */
  async stop(signal: NodeJS.Signals): Promise<ProcessResult> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill(signal);
    const guard = setTimeout(() => this.#child.kill('SIGKILL'), STOP_LIMIT_MS);
    try {
      return await this.#exit;
    } finally {
      clearTimeout(guard);
    }
  }
}
