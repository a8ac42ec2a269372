/**
 * `npm run bench -- NAME [args]` runs bench/NAME.ts. Every benchmark measures
 * its own baseline in the same run and prints ratios, so the figures mean the
 * same on a quiet machine and a noisy one.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export interface BenchModule {
  /** One line: what it measures and against which baseline. */
  description: string;
  run(args: string[]): Promise<void>;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.js') && !['main.js', 'util.js'].includes(f))
  .map((f) => f.replace(/\.js$/, ''))
  .sort();

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(
      `usage: npm run bench -- NAME [args]\navailable: ${available.join(', ') || '(none)'}\n`,
    );
    return name ? 0 : 2;
  }
  if (!available.includes(name)) {
    process.stderr.write(`bench: unknown benchmark "${name}" (available: ${available.join(', ')})\n`);
    return 2;
  }
  const mod = (await import(`./${name}.js`)) as BenchModule;
  process.stdout.write(`# bench ${name}: ${mod.description}\n`);
  await mod.run(rest);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
