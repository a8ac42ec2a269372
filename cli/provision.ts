/**
 * `camconnect provision`: ask the bridge for a one-time enrollment token for a site and write
 * its QR code (PNG or SVG, and in the terminal) for the technician; `camconnect provision
 * revoke AGENT_ID` removes a device's credentials.
 *
 * The operator API token comes from --token-file or CAMCONNECT_API_TOKEN, never from the
 * command line (arguments are visible to every local user in `ps`). The QR code is shown to
 * whoever runs this, that is its purpose; the payload text is printed only on request, and
 * nothing here logs either.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { requestEnrollmentToken, revokeDevice } from '../provisioning/bridge-client.js';
import { EnrollmentError } from '../provisioning/errors.js';
import { POLICIES, type Policy } from '../provisioning/payload.js';
import { qrInfo, terminalQr, writeQrFile } from '../provisioning/qr.js';
import type { EnrollmentConfigInput } from '../cloud-bridge/enrollment/config.js';
import { UsageError } from './util.js';

interface CreateOptions {
  bridge: string;
  site: string;
  address?: string;
  lat: number;
  lon: number;
  policy: string;
  out?: string;
  ttlHours?: number;
  tokenFile?: string;
  terminal: boolean;
  showPayload?: boolean;
}

function number(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new UsageError(`${name} must be a number from ${min} to ${max}, got "${v}"`);
    }
    return n;
  };
}

/** The operator API token: --token-file, else $CAMCONNECT_API_TOKEN. */
export function apiToken(tokenFile: string | undefined): string {
  if (tokenFile) {
    try {
      return readFileSync(tokenFile, 'utf8').trim();
    } catch (err) {
      throw new UsageError(
        `cannot read --token-file ${tokenFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
  }
  const env = process.env['CAMCONNECT_API_TOKEN']?.trim();
  if (env) return env;
  throw new UsageError(
    'an operator API token is needed: --token-file FILE or CAMCONNECT_API_TOKEN (see `camconnect bridge token`)',
  );
}

/** Enrollment failures are the user's to fix (or to report): no stack, exit code 1. */
export function asUsage(err: unknown): never {
  if (err instanceof EnrollmentError) throw new UsageError(err.message, 1);
  if (err instanceof RangeError) throw new UsageError(err.message);
  throw err;
}

async function create(o: CreateOptions): Promise<void> {
  if (!POLICIES.includes(o.policy as Policy))
    throw new UsageError(`--policy must be one of ${POLICIES.join(', ')}`);
  const ext = o.out ? path.extname(o.out).toLowerCase() : '';
  if (o.out && ext !== '.png' && ext !== '.svg') throw new UsageError('--out must end in .png or .svg');
  const token = apiToken(o.tokenFile);
  const issued = await requestEnrollmentToken(
    o.bridge,
    {
      site: o.site,
      ...(o.address ? { address: o.address } : {}),
      lat: o.lat,
      lon: o.lon,
      policy: o.policy as Policy,
      bridgeUrl: o.bridge,
      ...(o.ttlHours !== undefined ? { ttlHours: o.ttlHours } : {}),
    },
    { apiToken: token },
  ).catch(asUsage);
  const info = qrInfo(issued.payload);
  if (o.out) await writeQrFile(o.out, issued.payload);
  if (o.terminal) process.stdout.write(await terminalQr(issued.payload));
  const lines = [
    `enrollment code for "${o.site}" (policy ${o.policy}), bridge ${issued.bridgeUrl}`,
    `  ${info.chars} characters, QR version ${info.version} (${info.modules}x${info.modules} modules), error correction ${info.ecc}`,
    `  valid once, until ${new Date(issued.expiresAt).toISOString()}`,
    ...(o.out ? [`  wrote ${o.out}`] : []),
    ...(o.showPayload ? [`  payload: ${issued.payload}`] : []),
    '  on the device: camconnect agent enroll --qr FILE | --from-camera NAME | --payload TEXT',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

async function revoke(agentId: string, o: { bridge: string; tokenFile?: string }): Promise<void> {
  const r = await revokeDevice(o.bridge, agentId, { apiToken: apiToken(o.tokenFile) }).catch(asUsage);
  const how =
    r.broker === 'dynsec'
      ? 'its Mosquitto client is deleted (connected sessions are closed)'
      : `${r.disconnected} open connection(s) closed`;
  process.stdout.write(`revoked ${r.agentId} at ${new Date(r.revokedAt).toISOString()}: ${how}\n`);
}

/** `camconnect bridge run` options for enrollment and broker credentials. */
export interface EnrollmentCliOptions {
  mqttAuth: string;
  mqttDynsec?: boolean;
  agentMqttUrl?: string;
  agentMqttCa?: string;
  publicUrl?: string;
}

export function addEnrollmentOptions(cmd: Command): Command {
  return cmd
    .option(
      '--mqtt-auth <mode>',
      'embedded broker: registry (devices log in with their enrolled credentials, own topics only) or none (anonymous, development only)',
      'registry',
    )
    .option(
      '--mqtt-dynsec',
      "with --mqtt-url: create device accounts in Mosquitto's dynamic security plugin (the URL's account must be a dynsec admin)",
    )
    .option(
      '--agent-mqtt-url <url>',
      'broker URL given to enrolled devices (default: the broker URL without credentials)',
    )
    .option('--agent-mqtt-ca <file>', "PEM CA of the broker's certificate, given to enrolled devices")
    .option('--public-url <url>', 'this bridge as devices reach it; named in every enrollment QR code');
}

export function enrollmentConfigFrom(o: EnrollmentCliOptions): EnrollmentConfigInput {
  if (o.mqttAuth !== 'registry' && o.mqttAuth !== 'none')
    throw new UsageError('--mqtt-auth must be registry or none');
  return {
    brokerAuth: o.mqttAuth,
    dynsec: o.mqttDynsec ?? false,
    ...(o.agentMqttUrl ? { agentMqttUrl: o.agentMqttUrl } : {}),
    ...(o.agentMqttCa ? { agentMqttCaFile: path.resolve(o.agentMqttCa) } : {}),
    ...(o.publicUrl ? { publicUrl: o.publicUrl } : {}),
  };
}

export function registerProvision(program: Command): void {
  const provision = program.command('provision').description('create enrollment QR codes; revoke devices');
  const tokenFile = ['--token-file <file>', 'operator API token (default: $CAMCONNECT_API_TOKEN)'] as const;
  provision
    .command('create', { isDefault: true })
    .description('ask the bridge for a one-time enrollment token and write its QR code')
    .requiredOption('--bridge <url>', 'the bridge, as devices will reach it (https://...)')
    .requiredOption('--site <name>', 'site name (at most 48 bytes: it goes into the QR code)')
    .option('--address <text>', 'street address (kept by the bridge, not in the QR code)')
    .requiredOption('--lat <lat>', 'site latitude, degrees (WGS 84)', number('--lat', -90, 90))
    .requiredOption('--lon <lon>', 'site longitude, degrees (WGS 84)', number('--lon', -180, 180))
    .requiredOption('--policy <policy>', `owner's sharing policy: ${POLICIES.join(', ')}`)
    .option('--out <file>', 'write the QR code to this .png or .svg file')
    .option('--ttl-hours <h>', 'token lifetime (default 24, at most 168)', number('--ttl-hours', 0.01, 168))
    .option(...tokenFile)
    .option('--no-terminal', 'do not draw the QR code in the terminal')
    .option('--show-payload', 'also print the code as text (for `agent enroll --payload`)')
    .action((o: CreateOptions) => create(o));
  provision
    .command('revoke')
    .argument('<agentId>', 'the device to revoke')
    .description("remove a device's broker credentials: it is disconnected and cannot return")
    .requiredOption('--bridge <url>', 'the bridge URL')
    .option(...tokenFile)
    .action((agentId: string, o: { bridge: string; tokenFile?: string }) => revoke(agentId, o));
}
