import type { Command } from 'commander';
import { notYet } from './util.js';

export function registerProvision(program: Command): void {
  const provision = program.command('provision').description('create enrollment QR codes; revoke devices');
  provision
    .command('create', { isDefault: true })
    .description('ask the bridge for a one-time enrollment token and write its QR code')
    .action(() => notYet('camconnect provision', 7));
  provision
    .command('revoke')
    .argument('<agentId>', 'the device to revoke')
    .description("remove a device's credentials")
    .action(() => notYet('camconnect provision revoke', 7));
}
