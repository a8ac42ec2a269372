import { redactText } from '../lib/redact.js';

/** Thrown for errors the user can fix: printed without a stack, exit code 2 by default. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A command that a later issue fills in: says so plainly and exits non-zero. */
export function notYet(what: string, issue: number): never {
  throw new UsageError(`${what} is not implemented yet (tracked in issue #${issue})`, 3);
}

export function printError(err: unknown): number {
  if (err instanceof UsageError) {
    process.stderr.write(`camconnect: ${redactText(err.message)}\n`);
    return err.exitCode;
  }
  const msg = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`camconnect: unexpected error: ${redactText(msg)}\n`);
  return 1;
}

/** Resolves when SIGINT/SIGTERM arrives; the returned signal aborts at the same moment. */
export function shutdownSignal(): { signal: AbortSignal; done: Promise<NodeJS.Signals> } {
  const ac = new AbortController();
  const done = new Promise<NodeJS.Signals>((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      ac.abort(new Error(`received ${sig}`));
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
  return { signal: ac.signal, done };
}

export function parseIntOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n)) throw new UsageError(`${name} must be a whole number, got "${value}"`);
    return n;
  };
}
