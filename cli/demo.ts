import type { Command } from 'commander';
import { notYet } from './util.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the whole system on one machine with embedded defaults')
    .action(() => notYet('camconnect demo', 9));
}
