/**
 * `status` (agent → bridge, retained, QoS 1): is the appliance online?
 *
 * The agent publishes `online` (retained) on every connect and registers a retained
 * `offline` as its MQTT last will (MQTT-3.1.2-8..17), so the broker announces a crash or a
 * cut link for it. A clean shutdown publishes `offline` itself with reason `shutdown`,
 * which lets the RTCC tell maintenance from failure.
 *
 * The will is composed at connect time, so its `ts` is the connect time, not the time of
 * the failure: the bridge should take the time it received the message as the moment the
 * device went away.
 */
import { z } from 'zod';
import { EpochMs, Version, safeText } from './common.js';

export const StatusState = z.enum(['online', 'offline']);
export type StatusState = z.infer<typeof StatusState>;

/** Why an agent is offline: `shutdown` said by the agent, `lost` said by the broker (the will). */
export const OfflineReason = z.enum(['shutdown', 'lost']);
export type OfflineReason = z.infer<typeof OfflineReason>;

export const StatusPayload = z
  .strictObject({
    v: Version,
    ts: EpochMs,
    state: StatusState,
    /** Agent software version (semver or build id). */
    agentVersion: safeText(64),
    /** When this agent process started. */
    startedAt: EpochMs,
    reason: OfflineReason.optional(),
  })
  .refine((s) => s.state === 'offline' || s.reason === undefined, {
    message: 'reason is only meaningful when offline',
    path: ['reason'],
  });
export type StatusPayload = z.infer<typeof StatusPayload>;
