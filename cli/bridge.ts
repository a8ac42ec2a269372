import type { Command } from 'commander';
import { notYet } from './util.js';

export function registerBridge(program: Command): void {
  program
    .command('bridge')
    .description('run the RTCC bridge: registry, incident API, evidence receiver, dashboard')
    .action(() => notYet('camconnect bridge', 6));
}
