/**
 * Routes each decoded agent message to the registry or the incident service. The switch is
 * exhaustive over protocol/'s topic names, so a new topic is a compile error here until handled.
 */
import type { IncomingMessage } from '../protocol/codec.js';
import type { Db } from './db/db.js';
import type { IncidentService } from './incidents/service.js';
import type { MessageSink } from './mqtt/link.js';
import { applyCameras, applyHealth, applyMotion, applyStatus } from './registry/ingest-store.js';
import type { Logger } from '../lib/log.js';

export class IngestSink implements MessageSink {
  constructor(
    private readonly db: Db,
    private readonly incidents: IncidentService,
    private readonly log: Logger,
  ) {}

  async handle(msg: IncomingMessage, receivedAt: number): Promise<void> {
    switch (msg.name) {
      case 'status':
        return applyStatus(this.db, msg.agentId, msg.value, receivedAt);
      case 'health':
        return applyHealth(this.db, msg.agentId, msg.value, receivedAt);
      case 'cameras':
        return applyCameras(this.db, msg.agentId, msg.value, receivedAt);
      case 'motion':
        return applyMotion(this.db, msg.agentId, msg.value, receivedAt);
      case 'replies':
        return this.reply(msg.agentId, msg.value);
      case 'requests':
        // Our own direction; the bridge never subscribes to it (bridgeSubscriptions), so this is
        // unreachable unless a broker misroutes. Refuse rather than act on it.
        throw new Error('agents do not publish requests');
    }
  }

  private async reply(agentId: string, reply: Extract<IncomingMessage, { name: 'replies' }>['value']): Promise<void> {
    switch (reply.type) {
      case 'incident-status': {
        const r = await this.incidents.applyStatusReply(agentId, reply);
        if (r === 'unknown') this.log.warn('incident reply for an unknown request', { agent: agentId, incident: reply.incidentId });
        return;
      }
      case 'error': {
        const r = await this.incidents.applyErrorReply(agentId, reply);
        if (r === 'unknown') this.log.info('error reply not tied to an incident', { agent: agentId, code: reply.code });
        return;
      }
      case 'ack':
        return this.incidents.applyAck(agentId, reply);
    }
  }
}
