import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { Contender } from './contenders.js';
import type { ServerMessage } from './servers/harness.js';

/** A benchmark server running in its own process. */
export interface RunningServer {
  readonly contender: Contender;
  readonly port: number;
  readonly pid: number;
  /** Asks the server to clean up its store data and exit; kills it if it does not within 10 s. */
  stop(): Promise<void>;
}

export type StartResult = { ok: true; server: RunningServer } | { ok: false; reason: string };

const START_TIMEOUT_MS = 20_000;

/** Forks the contender's server and waits for it to report its port (or why it cannot run). */
export function startServer(
  contender: Contender,
  execArgv: readonly string[] = [],
): Promise<StartResult> {
  const child = fork(contender.script, [...contender.args], {
    execArgv: [...execArgv],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    // Keep the tail: the last lines say why a server died.
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  return new Promise<StartResult>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({
        ok: false,
        reason: `no answer within ${START_TIMEOUT_MS / 1000} s ${lastLine(stderr)}`.trim(),
      });
    }, START_TIMEOUT_MS);
    child.once('message', (message: ServerMessage) => {
      clearTimeout(timer);
      if (message.type === 'ready')
        resolve({ ok: true, server: running(contender, child, message.port) });
      else resolve({ ok: false, reason: message.reason });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({
        ok: false,
        reason: `server exited (${signal ?? code}) ${lastLine(stderr)}`.trim(),
      });
    });
  });
}

function running(contender: Contender, child: ChildProcess, port: number): RunningServer {
  return {
    contender,
    port,
    pid: child.pid as number,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.send('close');
      }),
  };
}

function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('at '));
  return lines.at(-1) ?? '';
}
