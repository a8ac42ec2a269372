import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Agent, NotEnrolledError } from '../agent/agent.js';
import { HEALTH_FILE, judgeHealthFile } from '../agent/beacon.js';
import { incidentsPlugin } from '../agent/incidents-plugin.js';
import { createLogger } from '../lib/log.js';
import { DEFAULT_AGENT_DATA_DIR } from '../provisioning/agent-state.js';
import { parseIntOption, shutdownSignal, UsageError } from './util.js';

/** The data folder: --data-dir, then CAMCONNECT_STATE_DIR (the container sets it), then ./camconnect-agent-data. */
export function agentDataDir(flag: string | undefined): string {
  return flag ?? process.env['CAMCONNECT_STATE_DIR'] ?? DEFAULT_AGENT_DATA_DIR;
}

interface RunOptions {
  dataDir?: string;
  recordings?: string;
  segmentSeconds?: number;
  maxBytes?: number;
  uploadBps?: number;
  setupPort?: number;
  setupHost?: string;
}

export function registerRunCommand(agent: Command): void {
  agent
    .command('run', { isDefault: true })
    .description('run the whole agent (cameras, recorder, motion, link, incidents) until Ctrl-C')
    .option(
      '--data-dir <dir>',
      `state folder (default: $CAMCONNECT_STATE_DIR or ./${DEFAULT_AGENT_DATA_DIR})`,
    )
    .option(
      '--recordings <dir>',
      'recording folder (default: $CAMCONNECT_RECORDINGS_DIR or <data-dir>/recordings)',
    )
    .option('--segment-seconds <s>', 'segment length in seconds', parseIntOption('--segment-seconds'))
    .option('--max-bytes <bytes>', 'byte quota for all recordings', parseIntOption('--max-bytes'))
    .option(
      '--upload-bps <bytes>',
      'evidence upload bandwidth cap, bytes per second',
      parseIntOption('--upload-bps'),
    )
    .option(
      '--setup-port <port>',
      'serve the setup page on this port (off unless given; 0 picks a free port)',
      parseIntOption('--setup-port'),
    )
    .option(
      '--setup-host <address>',
      'address for the setup page: 127.0.0.1 (default), a LAN address, or 0.0.0.0 for every ' +
        'interface while answering private (LAN) clients only; public addresses are refused',
    )
    .action(async (o: RunOptions) => {
      const log = createLogger();
      const { signal, done } = shutdownSignal();
      const recordings = o.recordings ?? process.env['CAMCONNECT_RECORDINGS_DIR'];
      const agentService = new Agent({
        dataDir: agentDataDir(o.dataDir),
        ...(recordings ? { recordingsDir: recordings } : {}),
        ...(o.segmentSeconds !== undefined ? { segmentSeconds: o.segmentSeconds } : {}),
        ...(o.maxBytes !== undefined ? { retention: { maxBytes: o.maxBytes } } : {}),
        incidents: incidentsPlugin(o.uploadBps !== undefined ? { uploadBytesPerSecond: o.uploadBps } : {}),
        ...(o.setupPort !== undefined || o.setupHost !== undefined
          ? { setup: { port: o.setupPort ?? 8088, host: o.setupHost ?? '127.0.0.1' } }
          : {}),
        log,
      });
      try {
        await agentService.start(signal);
      } catch (err) {
        if (err instanceof NotEnrolledError) throw new UsageError(err.message);
        throw err;
      }
      if (agentService.setupServer) log.info('setup page', { url: agentService.setupServer.url() });
      await done;
      log.info('stopping agent');
      await agentService.stop();
    });
}

export function registerHealthCommand(agent: Command): void {
  agent
    .command('health')
    .description('ask the running agent whether it is healthy (exit 0 when it is): for Docker and monitoring')
    .option('--data-dir <dir>', 'state folder of the running agent')
    .option('--max-age <seconds>', 'oldest acceptable health report', parseIntOption('--max-age'), 60)
    .action(async (o: { dataDir?: string; maxAge: number }) => {
      const file = path.join(agentDataDir(o.dataDir), HEALTH_FILE);
      let text: string | undefined;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      const verdict = judgeHealthFile(text, Date.now(), o.maxAge * 1000);
      process.stdout.write(`${verdict.ok ? 'healthy' : 'unhealthy'}: ${verdict.reason}\n`);
      process.exitCode = verdict.ok ? 0 : 1;
    });
}
