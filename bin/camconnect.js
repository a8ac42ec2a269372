#!/usr/bin/env node
// Launcher: runs the compiled CLI from dist/ (built by `npm ci` through the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write(
    'camconnect: not built yet; run `npm ci` (or `npm run build`) in the project folder\n',
  );
  process.exit(2);
}
// A closed pipe (`camconnect doctor | head`) is the reader's choice, not our failure.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}
const { main } = await import(entry.href);
const code = await main(process.argv);
process.exitCode = code;
