/**
 * Compile-time proof that a publish whose payload does not match its topic does not
 * compile. Checked by `tsc -p tsconfig.json --noEmit` (part of `npm test`); each
 * `@ts-expect-error` fails the build if the line below it ever starts compiling.
 * Not a runtime test: nothing here is executed.
 */
import type {
  AgentPublisher,
  BridgePublisher,
  CameraIncidentState,
  TopicPayload,
  TypedPublisher,
} from '../../protocol/index.js';
import { encode, makeReply, makeRequest } from '../../protocol/index.js';

declare const agent: AgentPublisher;
declare const any: TypedPublisher;
declare const bridge: BridgePublisher;
declare const status: TopicPayload<'status'>;
declare const health: TopicPayload<'health'>;
declare const motion: TopicPayload<'motion'>;
declare const request: TopicPayload<'requests'>;

export async function typeChecks(): Promise<void> {
  // Matching payloads compile.
  await agent.publish('status', status);
  await agent.publish('health', health);
  await agent.publish('motion', motion);
  await any.publish('requests', request);
  await bridge.publish('agent-1', 'requests', request);
  await agent.publish('status', { v: 1, ts: 0, state: 'online', agentVersion: '1', startedAt: 0 });

  // @ts-expect-error a motion event is not a status
  await agent.publish('status', motion);
  // @ts-expect-error health is not a motion event
  await agent.publish('motion', health);
  // @ts-expect-error an agent cannot publish on the bridge's `requests` topic
  await agent.publish('requests', request);
  // @ts-expect-error the bridge publishes only bridge→agent topics
  await bridge.publish('agent-1', 'status', status);
  // @ts-expect-error unknown topic name
  await agent.publish('video', status);
  // @ts-expect-error schema version 2 is not v1
  await agent.publish('status', { v: 2, ts: 0, state: 'online', agentVersion: '1', startedAt: 0 });
  // @ts-expect-error the state must be online or offline
  await agent.publish('status', { v: 1, ts: 0, state: 'up', agentVersion: '1', startedAt: 0 });
  // @ts-expect-error missing ts
  await agent.publish('status', { v: 1, state: 'online', agentVersion: '1', startedAt: 0 });
  await agent.publish('cameras', {
    v: 1,
    ts: 0,
    cameras: [
      {
        id: 'c1',
        name: 'door',
        location: null,
        streams: [{ role: 'main', width: 1280, height: 720 }],
        // @ts-expect-error credentials are not part of the inventory
        password: 'hunter2',
      },
    ],
  });
  // @ts-expect-error an end without endedAt (discriminated by phase)
  await agent.publish('motion', { ...motion, phase: 'end' as const, endedAt: undefined });
  // @ts-expect-error encode checks the payload against the topic too
  encode('health', status);
}

export function envelopeChecks(): void {
  const now = 0;
  const ping = makeRequest({ type: 'ping' }, { now });
  const _pingType: 'ping' = ping.type;
  // @ts-expect-error a ping has no incidentId
  makeRequest({ type: 'ping', incidentId: 'x' }, { now });
  // @ts-expect-error cancel-incident needs its incidentId
  makeRequest({ type: 'cancel-incident' }, { now });
  // @ts-expect-error an ack carries no error code
  makeReply('id', { type: 'ack', code: 'internal' }, { now, seq: 0 });
  // @ts-expect-error "declined" may reveal nothing but "declined"
  const _declined: CameraIncidentState = { cameraId: 'c', state: 'declined', gaps: [] };
}
