import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { probeTcp, sparePort } from '../../helpers/services.js';

/**
 * A redis-server child of our own on a fixed port, so an outage can be caused (SIGKILL by pid)
 * and healed (start again on the same port) without touching the shared server on 6379.
 */
export class PrivateRedis {
  readonly port: number;
  #child: ChildProcess | undefined;

  private constructor(port: number) {
    this.port = port;
  }

  /** Starts redis-server on a spare port and waits until it accepts connections. */
  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await sparePort());
    await redis.restart();
    return redis;
  }

  /** The URL of this server. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server again on the same port (after kill()). */
  async restart(): Promise<void> {
    if (this.#child !== undefined) throw new Error('redis-server is already running');
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    this.#child = child;
    child.once('exit', () => {
      if (this.#child === child) this.#child = undefined;
    });
    // Bounded wait for the listener: a server that never comes up fails the test, it does not hang it.
    const deadline = Date.now() + 10_000;
    while ((await probeTcp(this.url)) !== undefined) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`redis-server did not start on port ${this.port}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** SIGKILLs the server (no shutdown handshake: clients see the connection drop) and waits for its exit. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    await exited;
    this.#child = undefined;
  }
}
