/**
 * The link's configuration, validated at the boundary. Defaults are the
 * production values; tests shorten intervals. Secrets (password, key) are
 * only ever handed to MQTT.js and never logged (lib/log.ts redacts anyway).
 */
import { z } from 'zod';
import { AgentId } from '../../protocol/schemas/common.js';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../../protocol/codec.js';

const MQTT_URL = /^(mqtts?|tcp|ssl|tls):\/\/[^\s]+$/;

export const LinkConfigSchema = z.object({
  agentId: AgentId,
  /** mqtts://broker.example:8883 in production; mqtt:// only on loopback or in a lab. */
  url: z.string().regex(MQTT_URL, 'must be an mqtt:// or mqtts:// URL'),
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  tls: z
    .object({
      /** PEM text or a file path (…File) for each: CA, client certificate and key. */
      ca: z.string().optional(),
      caFile: z.string().optional(),
      cert: z.string().optional(),
      certFile: z.string().optional(),
      key: z.string().optional(),
      keyFile: z.string().optional(),
      rejectUnauthorized: z.boolean().default(true),
      servername: z.string().optional(),
    })
    .optional(),
  protocol: z.union([z.literal('auto'), z.literal(5), z.literal(4)]).default('auto'),
  keepaliveS: z.int().min(5).max(65_535).default(30),
  /** 7 days: a site offline for a long weekend still gets the requests sent meanwhile. */
  sessionExpiryS: z
    .int()
    .min(0)
    .max(0xffff_ffff)
    .default(7 * 24 * 3600),
  connectTimeoutMs: z.int().min(100).default(10_000),
  reconnect: z
    .object({
      initialMs: z.int().min(1).default(1_000),
      maxMs: z.int().min(1).default(60_000),
      factor: z.number().min(1).default(2),
      floorMs: z.int().min(0).default(100),
    })
    .prefault({}),
  healthIntervalMs: z.int().min(100).default(30_000),
  outbox: z.object({
    dir: z.string().min(1),
    maxBytes: z
      .int()
      .min(1024)
      .default(64 << 20),
    maxEntries: z.int().min(1).default(100_000),
    fsync: z.boolean().default(true),
  }),
  requests: z
    .object({
      /** Larger requests get a `too-large` error reply and are not parsed. */
      maxBytes: z.int().min(1024).default(DEFAULT_MAX_PAYLOAD_BYTES),
      /** Sustained and burst rate of requests handled; the rest are answered `busy`. */
      perSecond: z.number().positive().default(5),
      burst: z.int().min(1).default(20),
      /** Error replies are bounded too, so a flood cannot fill the outbox with answers. */
      errorRepliesPerSecond: z.number().positive().default(10),
      errorBurst: z.int().min(1).default(50),
    })
    .prefault({}),
  /** QoS 1 messages in flight; also capped by the broker's Receive Maximum. */
  maxInflight: z.int().min(1).max(65_535).default(64),
  /** On stop, how long to keep sending the outbox before disconnecting. */
  drainOnStopMs: z.int().min(0).default(2_000),
});

export type LinkConfig = z.output<typeof LinkConfigSchema>;
export type LinkConfigInput = z.input<typeof LinkConfigSchema>;
