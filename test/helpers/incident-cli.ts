/**
 * Runs the camconnect command line from source in a child process (tsx), so the incident tests
 * exercise the real commands (`verify`, `agent approvals`, `agent audit`) without a build.
 *   node --import tsx test/helpers/incident-cli.ts verify PATH
 */
import { fileURLToPath } from 'node:url';
import { runProcess, type ProcResult } from './proc.js';

const SELF = fileURLToPath(import.meta.url);

export function camconnect(args: readonly string[], timeoutMs = 60_000): Promise<ProcResult> {
  return runProcess(process.execPath, ['--import', 'tsx', SELF, ...args], { timeoutMs });
}

if (process.argv[1] === SELF) {
  const { main } = await import('../../cli/main.js');
  process.exitCode = await main(process.argv);
}
