import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const REGISTER = fileURLToPath(new URL('./ts-register.mjs', import.meta.url));

/** How a finished child process ended and what it printed. */
export interface ProcessResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options for a child running a TypeScript file. */
export interface SourceOptions {
  /** Added to (and overriding) the parent's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** @default the repository root */
  readonly cwd?: string;
}

/** The node arguments that run a TypeScript file of this repo from source (see ts-hooks.mjs). */
export function sourceArgs(script: string, args: readonly string[] = []): string[] {
  return [
    '--enable-source-maps',
    '--import',
    REGISTER,
    fileURLToPath(new URL(script, `file://${ROOT}`)),
    ...args,
  ];
}

/** Starts `node <script> ...args` from source, stdio piped. */
export function startFromSource(
  script: string,
  args: readonly string[] = [],
  options: SourceOptions = {},
): ChildProcess {
  return spawn(process.execPath, sourceArgs(script, args), {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Runs a script from source to completion. `hangMs` only guards against a child that never
 * exits (the run then reports signal SIGKILL); it is not a speed assertion.
 */
export function runFromSource(
  script: string,
  args: readonly string[] = [],
  options: SourceOptions & { hangMs?: number } = {},
): Promise<ProcessResult> {
  const child = startFromSource(script, args, options);
  return collect(child, options.hangMs ?? 20_000);
}

/** Collects a child's output until it exits; SIGKILLs it after `hangMs`. */
export function collect(child: ChildProcess, hangMs: number): Promise<ProcessResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), hangMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}
