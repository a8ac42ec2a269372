/**
 * WS-Discovery on loopback. Unicast probes run on the host (ephemeral port,
 * 127.0.0.1 only). Multicast runs only inside a network namespace this test
 * creates and deletes: on the host, lo has no MULTICAST flag and the default
 * route would take a multicast probe off the machine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { OnvifDevice } from '../../simulator/onvif/device.js';
import { DiscoveryResponder } from '../../simulator/onvif/discovery.js';
import { probe } from '../../simulator/onvif/probe.js';
import { SceneTimeline, sceneForCamera } from '../../simulator/scenes.js';
import { collect, createNetns, netnsUnavailableReason, type Netns } from '../helpers/netns.js';
import { testCamera } from '../helpers/onvif-fixtures.js';

function fleet(n: number): OnvifDevice[] {
  return Array.from({ length: n }, (_, i) => {
    const { scene, phaseSec } = sceneForCamera(i + 1);
    return new OnvifDevice({
      camera: testCamera(`d${i + 1}`, new SceneTimeline(scene, Date.now(), phaseSec), Buffer.from('x')),
      log: silentLogger,
    });
  });
}

describe('DiscoveryResponder, unicast on the host', () => {
  const devices = fleet(4);
  const responder = new DiscoveryResponder({
    devices: () => devices.map((d) => ({ uuid: d.uuid, xaddr: d.xaddr(), scopes: d.scopes() })),
    port: 0,
    maxDelayMs: 50,
    log: silentLogger,
  });

  beforeAll(async () => {
    for (const d of devices) await d.start(AbortSignal.timeout(10_000));
    await responder.start(AbortSignal.timeout(10_000));
  });
  afterAll(async () => {
    await responder.stop();
    for (const d of devices) await d.stop();
  });

  it('answers a directed probe with one match per device', async () => {
    const found = await probe({
      interfaceAddress: '127.0.0.1',
      timeoutMs: 1500,
      unicastTo: { address: '127.0.0.1', port: responder.port() },
    });
    expect(found.map((f) => f.address).sort()).toEqual(devices.map((d) => d.uuid).sort());
    for (const d of devices) {
      const f = found.find((x) => x.address === d.uuid)!;
      expect(f.xaddrs).toEqual([d.xaddr()]);
      expect(f.types).toEqual(['dn:NetworkVideoTransmitter', 'tds:Device']);
      expect(f.scopes).toContain('onvif://www.onvif.org/Profile/Streaming');
      expect(f.metadataVersion).toBe(1);
      expect(f.from.address).toBe('127.0.0.1');
    }
    expect(responder.health()).toMatchObject({ probes: expect.any(Number), matchesSent: 4 });
  });

  it('filters by Types and Scopes', async () => {
    const to = { address: '127.0.0.1', port: responder.port() };
    const other = await probe({
      interfaceAddress: '127.0.0.1',
      timeoutMs: 800,
      unicastTo: to,
      types: 'tds:Printer',
    });
    expect(other).toEqual([]);
    const named = await probe({
      interfaceAddress: '127.0.0.1',
      timeoutMs: 800,
      unicastTo: to,
      scopes: ['onvif://www.onvif.org/name/Test%20d2'],
    });
    expect(named.map((f) => f.address)).toEqual([devices[1]!.uuid]);
  });

  it('refuses to answer on a non-loopback interface', async () => {
    const r = new DiscoveryResponder({ devices: () => [], interfaceAddress: '192.168.1.10', port: 0 });
    await expect(r.start(AbortSignal.timeout(5000))).rejects.toThrow(/loopback only/);
  });
});

const skipReason = await netnsUnavailableReason();

describe.skipIf(skipReason !== undefined)(
  'WS-Discovery by multicast, inside a private network namespace',
  () => {
    let ns: Netns;
    // A second address on the namespace's lo: a source outside 127.0.0.0/8 that still never leaves the namespace.
    const NON_LOOPBACK = '10.99.0.1';

    beforeAll(async () => {
      ns = await createNetns('cc-onvif');
      await ns.exec('ip', ['addr', 'add', `${NON_LOOPBACK}/32`, 'dev', 'lo']);
    });
    afterAll(() => ns?.destroy());

    it('the onvif client and our probe() find all four devices with the right XAddrs', async () => {
      const child = ns.spawn(
        process.execPath,
        ['--import', 'tsx', 'test/helpers/onvif-discovery-child.ts', NON_LOOPBACK],
        {
          cwd: process.cwd(),
          env: { ...process.env, CAMCONNECT_LOG_LEVEL: 'warn' },
        },
      );
      const { code, stdout, stderr } = await collect(child);
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      expect(line, `child exited ${code}; stderr:\n${stderr}`).toBeDefined();
      const r = JSON.parse(line!.slice(7)) as {
        devices: { uuid: string; xaddr: string }[];
        viaOnvif: { xaddrs: string[]; hostname: string; port: string }[];
        ours: { address: string; xaddrs: string[] }[];
        oursUnicast: { address: string }[];
        fromNonLoopback: { multicast: number; unicast: number };
        health: { multicast: boolean; droppedNonLoopback: number };
      };
      expect(r.health.multicast).toBe(true);
      const xaddrs = r.devices.map((d) => d.xaddr).sort();
      expect(r.viaOnvif.map((c) => c.xaddrs[0]).sort()).toEqual(xaddrs);
      for (const c of r.viaOnvif)
        expect(`http://${c.hostname}:${c.port}/onvif/device_service`).toBe(c.xaddrs[0]);
      expect(r.ours.map((m) => [m.address, m.xaddrs[0]]).sort()).toEqual(
        r.devices.map((d) => [d.uuid, d.xaddr]).sort(),
      );
      expect(r.oursUnicast).toHaveLength(4);
      // Probes from a source outside 127.0.0.0/8 are dropped unread, multicast or unicast.
      expect(r.fromNonLoopback).toEqual({ multicast: 0, unicast: 0 });
      expect(r.health.droppedNonLoopback).toBeGreaterThanOrEqual(2);
    });
  },
);
