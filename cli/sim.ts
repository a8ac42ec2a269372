import type { Command } from 'commander';
import { createLogger } from '../lib/log.js';
import { SimulatorFleet } from '../simulator/fleet.js';
import { SCENES } from '../simulator/scenes.js';
import { parseIntOption, shutdownSignal, UsageError } from './util.js';

interface SimOptions {
  cameras: number;
  rtspPort: number;
  onvifPort: number;
  onvif: boolean;
  discovery: boolean;
  discoveryPort: number;
  username?: string;
  password?: string;
  rtspAuth: 'basic' | 'digest';
  clockOffset?: number;
  scenes?: string;
  json?: boolean;
}

export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('serve simulated ONVIF/RTSP cameras on loopback until Ctrl-C')
    .option('--cameras <n>', 'how many cameras (1-64)', parseIntOption('--cameras'), 4)
    .option('--rtsp-port <port>', 'RTSP port, 0 for any free port', parseIntOption('--rtsp-port'), 8554)
    .option(
      '--onvif-port <port>',
      'ONVIF port of camera 1 (camera k: port + k - 1), 0 for any',
      parseIntOption('--onvif-port'),
      8000,
    )
    .option('--no-onvif', 'serve RTSP only')
    .option('--no-discovery', 'do not answer WS-Discovery probes')
    .option('--discovery-port <port>', 'WS-Discovery port', parseIntOption('--discovery-port'), 3702)
    .option('--username <name>', 'require these credentials for RTSP and ONVIF')
    .option('--password <password>', 'the password that goes with --username')
    .option('--rtsp-auth <scheme>', 'RTSP auth scheme with credentials: basic or digest', 'digest')
    .option(
      '--clock-offset <seconds>',
      'ONVIF device clocks run this far from real time',
      parseIntOption('--clock-offset'),
    )
    .option('--scenes <list>', `comma-separated scenes per camera (${SCENES.map((s) => s.name).join(', ')})`)
    .option('--json', 'print the cameras as one JSON document on stdout (logs stay on stderr)')
    .action(async (opts: SimOptions) => {
      if ((opts.username === undefined) !== (opts.password === undefined)) {
        throw new UsageError('--username and --password go together');
      }
      if (opts.rtspAuth !== 'basic' && opts.rtspAuth !== 'digest') {
        throw new UsageError(`--rtsp-auth must be basic or digest, got "${String(opts.rtspAuth)}"`);
      }
      const log = createLogger();
      const { signal, done } = shutdownSignal();
      let lastPct = -1;
      const fleet = new SimulatorFleet({
        cameras: opts.cameras,
        rtspPort: opts.rtspPort,
        onvifPort: opts.onvifPort,
        onvif: opts.onvif,
        discovery: opts.discovery,
        discoveryPort: opts.discoveryPort,
        rtspAuth: opts.rtspAuth,
        ...(opts.username !== undefined && opts.password !== undefined
          ? { username: opts.username, password: opts.password }
          : {}),
        ...(opts.clockOffset !== undefined ? { clockOffsetSec: opts.clockOffset } : {}),
        ...(opts.scenes ? { scenes: opts.scenes.split(',').map((s) => s.trim()) } : {}),
        onProgress: (p) => {
          // Preparing scenes is the slow first step (once per machine): show it.
          const pct = Math.floor(p.fraction * 100);
          if (p.phase === 'encoding' && pct >= lastPct + 10) {
            lastPct = pct;
            process.stderr.write(`preparing scene ${p.scene}: ${pct}%\n`);
          } else if (p.phase === 'done') {
            lastPct = -1;
            process.stderr.write(`preparing scene ${p.scene}: done\n`);
          }
        },
        log,
      });
      try {
        await fleet.start(signal);
      } catch (err) {
        if (err instanceof RangeError) throw new UsageError(err.message);
        throw err;
      }
      const cams = fleet.cameras();
      if (opts.json) {
        const doc = {
          rtspPort: fleet.rtspPort(),
          discoveryPort: fleet.discoveryPort(),
          cameras: cams.map(({ timeline: _t, ...c }) => c),
        };
        process.stdout.write(JSON.stringify(doc) + '\n');
      } else {
        for (const c of cams) {
          process.stdout.write(`${c.id} (${c.scene})\n  main  ${c.rtsp.main}\n  sub   ${c.rtsp.sub}\n`);
          if (c.onvif) process.stdout.write(`  onvif ${c.onvif.xaddr}\n`);
        }
        process.stdout.write('serving; Ctrl-C to stop\n');
      }
      await done;
      await fleet.stop();
    });
}
