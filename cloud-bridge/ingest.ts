/**
 * Routes each decoded agent message to the registry or the incident service. The switch is
 * exhaustive over protocol/'s topic names, so a new topic is a compile error here until handled.
 */
import type { IncomingMessage } from '../protocol/codec.js';
import type { Db } from './db/db.js';
import type { IncidentService } from './incidents/service.js';
import type { MessageSink } from './mqtt/link.js';
import {
  applyCameras,
  applyHealthBatch,
  applyMotionBatch,
  applyStatus,
  IngestRefused,
  UnknownDeviceError,
  type HealthItem,
  type MotionItem,
} from './registry/ingest-store.js';
import { Batcher } from './registry/batch.js';

export class IngestSink implements MessageSink {
  // health and motion are the volume (10,000 agents × a report every 30 s, plus bursts): batched.
  private readonly health: Batcher<HealthItem>;
  private readonly motion: Batcher<MotionItem>;

  constructor(
    private readonly db: Db,
    private readonly incidents: IncidentService,
  ) {
    this.health = new Batcher((items) => applyHealthBatch(db, items));
    this.motion = new Batcher((items) => applyMotionBatch(db, items));
  }

  async handle(msg: IncomingMessage, receivedAt: number): Promise<void> {
    switch (msg.name) {
      case 'status':
        return applyStatus(this.db, msg.agentId, msg.value, receivedAt);
      case 'health':
        return this.health.add({ deviceId: msg.agentId, payload: msg.value, receivedAt });
      case 'cameras':
        return applyCameras(this.db, msg.agentId, msg.value, receivedAt);
      case 'motion':
        return this.motion.add({ deviceId: msg.agentId, payload: msg.value, receivedAt });
      case 'replies':
        return this.reply(msg.agentId, msg.value);
      case 'requests':
        // Our own direction; the bridge never subscribes to it (bridgeSubscriptions), so this is
        // unreachable unless a broker misroutes. Refuse rather than act on it.
        throw new IngestRefused('wrong-direction', 'agents do not publish requests');
    }
  }

  private async reply(
    agentId: string,
    reply: Extract<IncomingMessage, { name: 'replies' }>['value'],
  ): Promise<void> {
    switch (reply.type) {
      case 'incident-status': {
        const r = await this.incidents.applyStatusReply(agentId, reply);
        if (r === 'unknown')
          throw new IngestRefused(
            'unknown-request',
            `incident reply from ${agentId} to a request the bridge did not send`,
          );
        return;
      }
      case 'error': {
        const r = await this.incidents.applyErrorReply(agentId, reply);
        if (r === 'unknown')
          throw new IngestRefused(
            'unknown-request',
            `error reply from ${agentId} (${reply.code}) to no incident request`,
          );
        return;
      }
      case 'ack':
        // Acks also answer pings, which the bridge does not track; only a registered device's count.
        if (!(await this.incidents.applyAck(agentId, reply))) throw new UnknownDeviceError(agentId);
        return;
    }
  }
}
