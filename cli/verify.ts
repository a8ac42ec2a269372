import type { Command } from 'commander';
import { notYet } from './util.js';

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .argument('<path>', 'an evidence package folder')
    .description('check an evidence package offline: hashes, device signature, manifest')
    .action(() => notYet('camconnect verify', 8));
}
