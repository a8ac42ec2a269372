import { Command, CommanderError } from 'commander';
import { VERSION } from '../lib/version.js';
import { printError } from './util.js';
import { registerAgent } from './agent.js';
import { registerBridge } from './bridge.js';
import { registerProvision } from './provision.js';
import { registerSim } from './sim.js';
import { registerDemo } from './demo.js';
import { registerVerify } from './verify.js';
import { registerDoctor } from './doctor.js';

export function buildProgram(): Command {
  const program = new Command('camconnect')
    .description('CamConnect Edge: camera agent, RTCC bridge, provisioning and simulator')
    .version(VERSION, '-V, --version')
    .showHelpAfterError()
    .exitOverride();
  registerAgent(program);
  registerBridge(program);
  registerProvision(program);
  registerSim(program);
  registerDemo(program);
  registerVerify(program);
  registerDoctor(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    return printError(err);
  }
}
