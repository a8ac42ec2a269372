/**
 * Incidents: create (validate, sign with the RTCC key, find targets, store, publish), apply the
 * agents' replies, and read the combined state for the API and the dashboard.
 *
 * The request sent to every agent is the same signed document; only the MQTT envelope (a
 * request id per agent, for correlating replies) differs. State lives in the database only, so
 * any bridge instance can answer for an incident that another instance created or whose
 * replies it happened to ingest.
 */
import { randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { createIncidentRequest, signIncident, type SignedIncident } from '../../protocol/incident.js';
import type { BridgePublisher } from '../../protocol/codec.js';
import type { ReplyOf } from '../../protocol/schemas/replies.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import type { Db } from '../db/db.js';
import type { Limits } from '../config.js';
import type { BridgeMetrics } from '../metrics.js';
import { findTargets, type Target } from '../registry/query.js';
import type { IncidentInput } from './input.js';

export interface CreatedIncident {
  id: string;
  signed: SignedIncident;
  targets: Target[];
  /** Time spent creating, signing, storing and publishing, ms (monotonic). */
  fanoutMs: number;
}

export interface IncidentServiceDeps {
  db: Db;
  clock: Clock;
  limits: Limits;
  key: { privateKey: KeyObject };
  issuer: string;
  /** The MQTT link (protocol/'s typed publisher: topic and payload checked together). */
  publisher: BridgePublisher;
  metrics: BridgeMetrics;
  log: Logger;
}

export class IncidentService {
  constructor(private readonly d: IncidentServiceDeps) {}

  async create(input: IncidentInput, createdBy: string | null): Promise<CreatedIncident> {
    const { db, clock, limits } = this.d;
    const t0 = clock.monotonic();
    const now = clock.now();
    const request = createIncidentRequest(
      {
        caseNumber: input.caseNumber,
        reason: input.reason,
        area: input.area,
        from: input.from,
        to: input.to,
        issuer: this.d.issuer,
      },
      { now, validityMs: limits.requestTtlMs },
    );
    const signed = signIncident(request, this.d.key.privateKey);
    const targets = await findTargets(db, request.area, limits.nearMarginM);
    const envelopes = targets.map((t) => ({ target: t, requestId: randomUUID() }));
    await db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO incidents (id, case_number, reason, area, from_at, to_at, created_at, created_by, request)
         VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9::jsonb)`,
        [
          request.id,
          request.caseNumber,
          request.reason,
          JSON.stringify(request.area),
          request.from,
          request.to,
          now,
          createdBy,
          JSON.stringify(signed),
        ],
      );
      if (envelopes.length > 0) {
        await tx.query(
          `INSERT INTO incident_targets (incident_id, device_id, request_id, state, updated_at)
           SELECT $1, d, r, 'sent', $4 FROM unnest($2::text[], $3::text[]) AS t(d, r)`,
          [request.id, envelopes.map((e) => e.target.deviceId), envelopes.map((e) => e.requestId), now],
        );
      }
    });
    // Publish after commit: a reply can then always find its target row. QoS 1 publishes are
    // awaited together; one agent's failure does not stop the others (it stays 'sent').
    const results = await Promise.allSettled(
      envelopes.map((e) =>
        this.d.publisher.publish(e.target.deviceId, 'requests', {
          v: 1,
          ts: now,
          requestId: e.requestId,
          type: 'incident',
          incident: signed,
        }),
      ),
    );
    const failed = results.filter((r) => r.status === 'rejected').length;
    if (failed > 0)
      this.d.log.warn('some incident requests could not be published', { incident: request.id, failed });
    const fanoutMs = clock.monotonic() - t0;
    this.d.metrics.incidents.inc({ result: 'created' });
    this.d.metrics.incidentTargets.inc(envelopes.length - failed);
    this.d.metrics.fanoutSeconds.observe(fanoutMs / 1000);
    return { id: request.id, signed, targets, fanoutMs };
  }

  /**
   * Withdraws an incident: agents that have not finished get a `cancel-incident` request (it can
   * only reduce what leaves the premises, so it is not signed; see protocol's requests.ts) and
   * their state becomes `cancelled`. Evidence already verified stays. Returns the agents told,
   * or null for an unknown incident.
   */
  async cancel(id: string, reason: string | undefined): Promise<string[] | null> {
    const { db, clock } = this.d;
    const known = await db.query('SELECT 1 FROM incidents WHERE id = $1', [id]);
    if (known.length === 0) return null;
    const now = clock.now();
    const rows = await db.query<{ device_id: string }>(
      `UPDATE incident_targets SET state = 'cancelled', detail = $2, updated_at = $3
       WHERE incident_id = $1 AND state NOT IN ('done', 'no-cameras-in-area', 'error', 'cancelled')
       RETURNING device_id`,
      [id, reason ?? null, now],
    );
    const results = await Promise.allSettled(
      rows.map((r) =>
        this.d.publisher.publish(r.device_id, 'requests', {
          v: 1,
          ts: now,
          requestId: randomUUID(),
          type: 'cancel-incident',
          incidentId: id,
          ...(reason ? { reason } : {}),
        }),
      ),
    );
    const failed = results.filter((r) => r.status === 'rejected').length;
    if (failed > 0) this.d.log.warn('some cancel requests could not be published', { incident: id, failed });
    return rows.map((r) => r.device_id);
  }

  /**
   * An `incident-status` reply: the agent-level outcome and each camera's state. Replies carry a
   * per-request `seq`; one not newer than what was applied is a duplicate or late and is ignored.
   * Evidence states the bridge itself decided (received, verified, rejected) are not overwritten
   * by an agent's report: the bridge is the authority on what it holds.
   */
  async applyStatusReply(
    agentId: string,
    reply: ReplyOf<'incident-status'>,
  ): Promise<'applied' | 'stale' | 'unknown'> {
    const now = this.d.clock.now();
    return this.d.db.transaction(async (tx) => {
      const rows = await tx.query<{ incident_id: string; reply_seq: number }>(
        'SELECT incident_id, reply_seq FROM incident_targets WHERE request_id = $1 AND device_id = $2 FOR UPDATE',
        [reply.requestId, agentId],
      );
      const row = rows[0];
      if (!row || row.incident_id !== reply.incidentId) return 'unknown';
      if (reply.seq <= row.reply_seq) return 'stale';
      await tx.query(
        'UPDATE incident_targets SET state = $3, detail = NULL, reply_seq = $4, updated_at = $5 WHERE incident_id = $1 AND device_id = $2',
        [row.incident_id, agentId, reply.outcome, reply.seq, now],
      );
      for (const cam of reply.cameras) {
        const percent = cam.state === 'uploading' ? cam.percent : null;
        const detail = cam.state === 'failed' ? cam.detail : null;
        await tx.query(
          `INSERT INTO incident_cameras (incident_id, device_id, camera_id, state, detail, percent, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (incident_id, device_id, camera_id) DO UPDATE SET state = EXCLUDED.state,
             detail = EXCLUDED.detail, percent = EXCLUDED.percent, updated_at = EXCLUDED.updated_at
           WHERE incident_cameras.state NOT IN ('received', 'verified', 'rejected')`,
          [row.incident_id, agentId, cam.cameraId, cam.state, detail, percent, now],
        );
      }
      return 'applied';
    });
  }

  /** An `error` reply to an incident request (forged, expired, over limits, ...). */
  async applyErrorReply(agentId: string, reply: ReplyOf<'error'>): Promise<'applied' | 'unknown'> {
    if (!reply.requestId) return 'unknown';
    const rows = await this.d.db.query(
      `UPDATE incident_targets SET state = 'error', detail = $3, reply_seq = $4, updated_at = $5
       WHERE request_id = $1 AND device_id = $2 AND reply_seq < $4 RETURNING incident_id`,
      [reply.requestId, agentId, `${reply.code}: ${reply.message}`, reply.seq, this.d.clock.now()],
    );
    return rows.length > 0 ? 'applied' : 'unknown';
  }

  /** An `ack`: the agent has the request. False when the device is not registered. */
  async applyAck(agentId: string, reply: ReplyOf<'ack'>): Promise<boolean> {
    const known = await this.d.db.query('SELECT 1 FROM devices WHERE id = $1', [agentId]);
    if (known.length === 0) return false;
    await this.d.db.query(
      `UPDATE incident_targets SET state = 'acknowledged', reply_seq = $3, updated_at = $4
       WHERE request_id = $1 AND device_id = $2 AND state = 'sent' AND reply_seq < $3`,
      [reply.requestId, agentId, reply.seq, this.d.clock.now()],
    );
    return true;
  }
}
