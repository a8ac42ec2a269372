import type { Command } from 'commander';
import { Demo } from '../demo/demo.js';
import { createLogger } from '../lib/log.js';
import { parseIntOption, shutdownSignal } from './util.js';

interface DemoCliOptions {
  dir: string;
  port: number;
  segmentSeconds: number;
  verbose?: boolean;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the whole system on one machine with embedded defaults (what `npm start` runs)')
    .option('--dir <dir>', 'where the demo keeps its data (cleared at each start)', 'camconnect-demo')
    .option('--port <port>', 'dashboard port', parseIntOption('--port'), 8080)
    .option('--segment-seconds <s>', 'recorder segment length', parseIntOption('--segment-seconds'), 10)
    .option('--verbose', 'show every component log line')
    .action(async (o: DemoCliOptions) => {
      const out = (s: string) => process.stdout.write(s + '\n');
      const log = createLogger({ level: o.verbose ? 'info' : 'warn' });
      const { signal, done } = shutdownSignal();
      let lastPct = -1;
      const demo = new Demo({
        dir: o.dir,
        port: o.port,
        segmentSeconds: o.segmentSeconds,
        log,
        onStep: (m) => out(`• ${m}`),
        onProgress: (p) => {
          const pct = Math.floor(p.fraction * 100);
          if (p.phase === 'encoding' && pct >= lastPct + 20) {
            lastPct = pct;
            out(`    scene ${p.scene}: ${pct}%`);
          } else if (p.phase === 'done') {
            lastPct = -1;
            out(`    scene ${p.scene}: ready`);
          }
        },
      });
      try {
        await demo.start(signal);
      } catch (err) {
        await demo.stop();
        throw err;
      }
      const info = demo.info();
      out('');
      out('CamConnect Edge demo is running. Ctrl-C stops everything.');
      out('');
      out(`  Dashboard       ${info.dashboardUrl}/`);
      out(`  Operator token  ${info.operatorToken}   (paste it into the dashboard's sign-in box)`);
      out('');
      for (const s of info.sites) {
        out(`  ${s.name} (policy: ${s.policy}) agent ${s.agentId}, cameras: ${s.cameras.join(', ')}`);
        out(`    enrolled from the QR code ${s.qrPath}`);
      }
      out('');
      out('Walkthrough:');
      out('  1. Open the dashboard and sign in. Both sites appear on the map near Washington DC,');
      out('     online, with their cameras, buffer depth and motion activity.');
      out('  2. Wait a minute for some footage, then click the map near Navy Yard Market, set a');
      out('     radius (e.g. 300 m), a window over the last few minutes, a case number, and submit.');
      out('  3. Watch the progress: the agent checks the signature and geofence, pins the footage,');
      out('     cuts a clip per covered camera, uploads it; the bridge verifies hashes and signature.');
      out('     Play the clip in the browser.');
      out(
        `  4. Near Columbia Heights the owner must approve first: camconnect agent approvals --data-dir ${info.sites[1]?.dataDir ?? ''}`,
      );
      out(`  5. Check a package offline: camconnect verify <downloaded folder>`);
      await done;
      out('stopping…');
      await demo.stop();
      out('stopped.');
    });
}
