import type { ChildProcess } from 'node:child_process';
import { startFromSource } from '../../e2e/from-source.js';
import { TEST_SECRET } from '../../helpers/app.js';

/** How a parent starts one app child (test/reliability/children/*, built on helpers/child-app.ts). */
export interface ChildAppOptions {
  /** Where the child is pushed as soon as it is spawned, so the caller can kill it even if it never listens. */
  readonly children: ChildProcess[];
  /** Only a guard against a child that never comes up; not a speed assertion. @default 30000 */
  readonly startLimitMs?: number;
  /** Called when the child exits, with the end of its stderr. */
  readonly onExit?: (code: number | null, signal: NodeJS.Signals | null, stderr: string) => void;
}

/** Starts `script` with `args` and the test secret; resolves its base URL once it prints `listening <port>`. */
export function startChildApp(
  script: string,
  args: readonly string[],
  { children, startLimitMs = 30_000, onExit }: ChildAppOptions,
): Promise<string> {
  const child = startFromSource(script, args, { env: { KVSESSION_TEST_SECRET: TEST_SECRET } });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr
    ?.setEncoding('utf8')
    .on('data', (chunk: string) => (err = (err + chunk).slice(-4000)));
  if (onExit !== undefined) child.once('exit', (code, signal) => onExit(code, signal, err));
  return new Promise((resolve, reject) => {
    const guard = setTimeout(
      () => reject(new Error(`app child did not start: ${err}`)),
      startLimitMs,
    );
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const port = /listening (\d+)/.exec(out)?.[1];
      if (port !== undefined) {
        clearTimeout(guard);
        resolve(`http://127.0.0.1:${port}`);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(guard);
      reject(new Error(`app child exited with ${String(code)}: ${err}`));
    });
  });
}

/** SIGTERMs every child still running. */
export function stopChildren(
  children: readonly ChildProcess[],
  signal: NodeJS.Signals = 'SIGTERM',
): void {
  for (const child of children) if (child.exitCode === null) child.kill(signal);
}
