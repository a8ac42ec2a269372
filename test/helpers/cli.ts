import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The launcher of the built CLI; tests of the command line run what users run. */
export const CLI = fileURLToPath(new URL('../../bin/camconnect.js', import.meta.url));
export const REPO = fileURLToPath(new URL('../..', import.meta.url));

export function assertBuilt(): void {
  if (!existsSync(new URL('../../dist/cli/main.js', import.meta.url))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it) before the CLI tests');
  }
}
