import type { Command } from 'commander';
import { notYet } from './util.js';
import { registerRecordCommands } from '../agent/recorder/cli.js';
import { registerEnrollCommand } from './agent-enroll.js';
import { registerDiscoverCommand } from './agent-discover.js';
import { registerMotionCommand } from './agent-motion.js';
import { registerApprovalsCommand } from './agent-approvals.js';
import { registerAuditCommand } from './agent-audit.js';

export function registerAgent(program: Command): void {
  const agent = program.command('agent').description('run the edge agent, or one of its parts');
  agent
    .command('run', { isDefault: true })
    .description('run the whole agent (cameras, recorder, motion, link, incidents)')
    .action(() => notYet('camconnect agent run', 9));
  registerRecordCommands(agent); // `record` and `clip` (issue #3)
  registerDiscoverCommand(agent); // issue #4
  registerMotionCommand(agent); // issue #4
  registerEnrollCommand(agent); // issue #7
  registerApprovalsCommand(agent); // issue #8
  registerAuditCommand(agent); // issue #8
}
