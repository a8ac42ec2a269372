/**
 * The agent-side checks of `camconnect doctor`: clock, each camera's streams,
 * the broker and the bridge. Each failed check says how to fix it. Camera
 * errors are redacted (CameraError never carries a password).
 */
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { CAMERAS_FILE } from '../agent/agent.js';
import { CameraStore } from '../agent/cameras/store.js';
import { probeStream } from '../agent/cameras/onboarding.js';
import { hintFor } from '../agent/cameras/errors.js';
import { withCredentials } from '../agent/cameras/streams.js';
import { MarkerClockSync } from '../agent/health/index.js';
import { systemClock } from '../lib/clock.js';
import { redactText } from '../lib/redact.js';
import { enrolledStatePath, loadEnrolledState } from '../provisioning/agent-state.js';
import type { Check } from './doctor.js';

const msg = (err: unknown) => redactText(err instanceof Error ? err.message : String(err));

export async function checkClock(): Promise<Check> {
  const h = await new MarkerClockSync({ clock: systemClock }).clockHealth();
  return {
    name: 'clock',
    ok: h.synced,
    detail: h.synced
      ? `synchronised (${h.source}); ${new Date().toISOString()}`
      : `no time synchronisation found; ${new Date().toISOString()}`,
    ...(h.synced
      ? {}
      : {
          fix: 'install and enable a time daemon (apt-get install chrony): evidence times depend on the clock',
        }),
  };
}

/** Opens a TCP (or TLS) connection to the broker: reachable, and for mqtts the certificate chain. */
function reach(url: URL, timeoutMs: number): Promise<void> {
  const secure = url.protocol === 'mqtts:' || url.protocol === 'ssl:' || url.protocol === 'tls:';
  const port = Number(url.port || (secure ? 8883 : 1883));
  return new Promise((resolve, reject) => {
    const sock = secure
      ? tls.connect({ host: url.hostname, port, servername: url.hostname })
      : net.connect({ host: url.hostname, port });
    const done = (err?: Error) => {
      sock.destroy();
      if (err) reject(err);
      else resolve();
    };
    sock.setTimeout(timeoutMs, () => done(new Error(`no answer within ${timeoutMs} ms`)));
    sock.once(secure ? 'secureConnect' : 'connect', () => done());
    sock.once('error', (e: Error) => done(e));
  });
}

export async function agentChecks(dataDir: string, timeoutMs = 10_000): Promise<Check[]> {
  const checks: Check[] = [];
  const state = await loadEnrolledState(enrolledStatePath(dataDir));
  if (!state) {
    checks.push({
      name: 'enrollment',
      ok: false,
      detail: `not enrolled (no ${enrolledStatePath(dataDir)})`,
      fix: 'camconnect agent enroll --qr FILE (ask the RTCC for a QR code)',
    });
  } else {
    checks.push({
      name: 'enrollment',
      ok: true,
      detail: `agent ${state.agentId}, site "${state.site.name}"`,
    });
    const broker = new URL(state.mqtt.url);
    try {
      await reach(broker, timeoutMs);
      checks.push({ name: 'broker', ok: true, detail: `${broker.host} reachable` });
    } catch (err) {
      checks.push({
        name: 'broker',
        ok: false,
        detail: `${broker.host}: ${msg(err)}`,
        fix: 'check the network and firewall (outbound MQTT), and that the bridge is running',
      });
    }
    try {
      const res = await fetch(new URL('/api/rtcc-key', state.bridge.url), {
        signal: AbortSignal.timeout(timeoutMs),
      });
      const body = (await res.json()) as { keyId?: string };
      const same = body.keyId === state.bridge.rtccKeyId;
      checks.push({
        name: 'bridge',
        ok: res.ok && same,
        detail: `${state.bridge.url}: HTTP ${res.status}${same ? ', RTCC key matches' : `, RTCC key ${body.keyId ?? 'unknown'} differs from the enrolled ${state.bridge.rtccKeyId}`}`,
        ...(res.ok && same
          ? {}
          : {
              fix: 'the bridge changed its signing key or this is another bridge: enroll again with a new QR code',
            }),
      });
    } catch (err) {
      checks.push({
        name: 'bridge',
        ok: false,
        detail: `${state.bridge.url}: ${msg(err)}`,
        fix: 'check the network (outbound HTTPS) and that the bridge is running',
      });
    }
  }

  const store = new CameraStore(path.join(dataDir, CAMERAS_FILE));
  await store.load();
  const cameras = store.list();
  const cameraChecks: Check[] = [];
  if (cameras.length === 0) {
    checks.push({
      name: 'cameras',
      ok: false,
      detail: 'no cameras configured',
      fix: 'camconnect agent discover --save <data-dir>/cameras.json',
    });
  }
  await Promise.all(
    cameras.map(async (c) => {
      for (const role of ['main', 'sub'] as const) {
        const stream = c.streams[role];
        if (role === 'sub' && stream.uri === c.streams.main.uri) continue;
        try {
          const s = await probeStream(c.name, withCredentials(stream.uri, c.credentials), timeoutMs);
          cameraChecks.push({
            name: `camera ${c.id} ${role}`,
            ok: true,
            detail: `${s.codec ?? '?'} ${s.width ?? '?'}x${s.height ?? '?'}${s.fps ? ` @ ${s.fps} fps` : ''}`,
          });
        } catch (err) {
          cameraChecks.push({
            name: `camera ${c.id} ${role}`,
            ok: false,
            detail: msg(err),
            fix: hintFor(err) ?? 'check that the camera is powered and reachable from this box',
          });
        }
      }
      if (!c.location) {
        cameraChecks.push({
          name: `camera ${c.id} location`,
          ok: false,
          detail: 'no installed location: incidents cannot include this camera',
          fix: 'set it on the setup page (or in cameras.json)',
        });
      }
    }),
  );
  // Probed concurrently; reported in a stable order.
  return [...checks, ...cameraChecks.sort((a, b) => a.name.localeCompare(b.name))];
}
