/**
 * Runs inside a test-made network namespace (see netns.ts), never on the host:
 * starts four simulated ONVIF devices and the WS-Discovery responder on UDP
 * 3702, probes by multicast with the onvif npm client and with our probe(),
 * checks that probes from a non-loopback source get no answer, and prints one
 * `RESULT {json}` line.
 *
 * Usage: ip netns exec NS node --import tsx test/helpers/onvif-discovery-child.ts [nonLoopbackAddress]
 */
import onvif from 'onvif';
import { silentLogger } from '../../lib/log.js';
import { OnvifDevice } from '../../simulator/onvif/device.js';
import { DiscoveryResponder } from '../../simulator/onvif/discovery.js';
import { probe } from '../../simulator/onvif/probe.js';
import { SceneTimeline, sceneForCamera } from '../../simulator/scenes.js';
import { testCamera } from './onvif-fixtures.js';

const nonLoopback = process.argv[2];
const start = AbortSignal.timeout(20_000);

const devices = [1, 2, 3, 4].map((k) => {
  const { scene, phaseSec } = sceneForCamera(k);
  return new OnvifDevice({
    camera: testCamera(`cam${k}`, new SceneTimeline(scene, Date.now(), phaseSec), Buffer.from('not used')),
    log: silentLogger,
  });
});
const responder = new DiscoveryResponder({
  devices: () => devices.map((d) => ({ uuid: d.uuid, xaddr: d.xaddr(), scopes: d.scopes() })),
  log: silentLogger,
});

function onvifProbe(): Promise<{ xaddrs: string[]; hostname: string; port: string | number }[]> {
  return new Promise((resolve) => {
    const errors: string[] = [];
    onvif.Discovery.on('error', (err) => errors.push(String(err)));
    onvif.Discovery.probe({ device: 'lo', timeout: 3000 }, (err, cams) => {
      if (err) process.stderr.write(`onvif probe errors: ${String(err)} ${errors.join('; ')}\n`);
      resolve(
        cams.map((c) => ({
          xaddrs: (c.xaddrs ?? []).map((u) => u.href),
          hostname: c.hostname,
          port: c.port,
        })),
      );
    });
  });
}

try {
  for (const d of devices) await d.start(start);
  await responder.start(start);
  const viaOnvif = await onvifProbe();
  const ours = await probe({ interfaceAddress: '127.0.0.1', timeoutMs: 2000 });
  const oursUnicast = await probe({
    interfaceAddress: '127.0.0.1',
    timeoutMs: 2000,
    unicastTo: { address: '127.0.0.1' },
  });
  let fromNonLoopback: { multicast: number; unicast: number } | undefined;
  if (nonLoopback) {
    const multicast = await probe({ interfaceAddress: nonLoopback, timeoutMs: 1500 });
    const unicast = await probe({
      interfaceAddress: nonLoopback,
      timeoutMs: 1500,
      unicastTo: { address: nonLoopback },
    });
    fromNonLoopback = { multicast: multicast.length, unicast: unicast.length };
  }
  const result = {
    devices: devices.map((d) => ({ uuid: d.uuid, xaddr: d.xaddr() })),
    viaOnvif,
    ours,
    oursUnicast,
    fromNonLoopback,
    health: responder.health(),
  };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
} finally {
  await responder.stop();
  for (const d of devices) await d.stop();
}
// Cams created by Discovery (resolve: true) connect on their own; do not wait for them.
process.exit(0);
