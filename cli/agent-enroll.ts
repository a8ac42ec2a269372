/**
 * `camconnect agent enroll --qr FILE | --payload TEXT | --from-camera NAME`: read the
 * enrollment code, check it, make the device key, enroll with the bridge and save the state
 * (`<data-dir>/enrollment.json`, mode 0600). See provisioning/enroll.ts for the steps and
 * what is left behind on failure (nothing).
 *
 * Output names the agent id, the bridge and where the state went; never the MQTT password or
 * the device's private key.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { VERSION } from '../lib/version.js';
import { DEFAULT_AGENT_DATA_DIR, enrolledStatePath } from '../provisioning/agent-state.js';
import { cameraSnapshotSource, watchCameraForQr } from '../provisioning/camera-qr.js';
import { enrollAgent } from '../provisioning/enroll.js';
import { decodeQrFile } from '../provisioning/qr.js';
import { asUsage } from './provision.js';
import { UsageError } from './util.js';

interface EnrollOptions {
  qr?: string;
  payload?: string;
  fromCamera?: string;
  dataDir: string;
  cameras?: string;
  bridge?: string;
  timeout: number;
  allowHttp?: boolean;
  force?: boolean;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim();
}

async function payloadText(o: EnrollOptions): Promise<string> {
  const given = [o.qr, o.payload, o.fromCamera].filter((v) => v !== undefined).length;
  if (given !== 1) throw new UsageError('give exactly one of --qr FILE, --payload TEXT, --from-camera NAME');
  if (o.payload !== undefined) return o.payload === '-' ? readStdin() : o.payload;
  if (o.qr !== undefined) return decodeQrFile(o.qr);
  const camerasFile = o.cameras ?? path.join(o.dataDir, 'cameras.json');
  const src = await cameraSnapshotSource(camerasFile, o.fromCamera ?? '');
  process.stderr.write(`hold the enrollment QR code in front of camera "${src.name}"...\n`);
  let misses = 0;
  return watchCameraForQr(src, {
    timeoutMs: o.timeout * 1000,
    onMiss: () => {
      if (++misses % 5 === 0)
        process.stderr.write('  no code seen yet: hold it closer, flat, without glare\n');
    },
  });
}

async function run(o: EnrollOptions): Promise<void> {
  const dataDir = path.resolve(o.dataDir);
  const state = await (async () =>
    enrollAgent({
      payloadText: await payloadText(o),
      dataDir,
      agentVersion: VERSION,
      ...(o.bridge ? { expectBridge: o.bridge } : {}),
      ...(o.allowHttp ? { allowInsecureHttp: true } : {}),
      ...(o.force ? { force: true } : {}),
    }))().catch(asUsage);
  process.stdout.write(
    [
      `enrolled as ${state.agentId} with ${state.bridge.url}`,
      `  site "${state.site.name}" at ${state.site.lat}, ${state.site.lon}, policy ${state.site.policy}`,
      `  broker ${state.mqtt.url}; RTCC key ${state.bridge.rtccKeyId}`,
      `  state saved to ${enrolledStatePath(dataDir)} (mode 0600)`,
    ].join('\n') + '\n',
  );
}

export function registerEnrollCommand(agent: Command): void {
  agent
    .command('enroll')
    .description('enroll this device with a bridge by QR code')
    .option('--qr <file>', 'an image of the QR code (PNG, JPEG, SVG; a phone photo works)')
    .option('--payload <text>', 'the code as text (CC1:...); "-" reads it from stdin')
    .option('--from-camera <name>', "read the code from this camera's snapshots (hold the label up to it)")
    .option('--data-dir <dir>', 'agent data folder (state goes to enrollment.json)', DEFAULT_AGENT_DATA_DIR)
    .option('--cameras <file>', 'camera state file for --from-camera (default: <data-dir>/cameras.json)')
    .option('--bridge <url>', 'refuse a code for any other bridge')
    .option(
      '--timeout <s>',
      'how long --from-camera watches for the code',
      (v: string) => {
        const n = Number(v);
        if (!Number.isFinite(n) || n <= 0)
          throw new UsageError(`--timeout must be positive seconds, got "${v}"`);
        return n;
      },
      60,
    )
    .option(
      '--allow-http',
      'allow a plain-http bridge off loopback (labs only: the password would travel in clear)',
    )
    .option('--force', 'replace an existing enrollment')
    .action((o: EnrollOptions) => run(o));
}
