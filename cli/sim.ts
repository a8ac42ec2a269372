import type { Command } from 'commander';
import { notYet } from './util.js';

export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('serve simulated ONVIF/RTSP cameras on loopback')
    .action(() => notYet('camconnect sim', 2));
}
