import type { Command } from 'commander';
import { registerRecordCommands } from '../agent/recorder/cli.js';
import { registerEnrollCommand } from './agent-enroll.js';
import { registerDiscoverCommand } from './agent-discover.js';
import { registerMotionCommand } from './agent-motion.js';
import { registerApprovalsCommand } from './agent-approvals.js';
import { registerAuditCommand } from './agent-audit.js';
import { registerHealthCommand, registerRunCommand } from './agent-run.js';

export function registerAgent(program: Command): void {
  const agent = program.command('agent').description('run the edge agent, or one of its parts');
  registerRunCommand(agent); // the composition root (agent/agent.ts)
  registerHealthCommand(agent); // the probe for Docker HEALTHCHECK and monitoring
  registerRecordCommands(agent); // `record` and `clip` (issue #3)
  registerDiscoverCommand(agent); // issue #4
  registerMotionCommand(agent); // issue #4
  registerEnrollCommand(agent); // issue #7
  registerApprovalsCommand(agent); // issue #8
  registerAuditCommand(agent); // issue #8
}
