import type { Command } from 'commander';
import { notYet } from './util.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check ffmpeg, disk, clock, cameras, broker and bridge')
    .action(() => notYet('camconnect doctor', 2));
}
