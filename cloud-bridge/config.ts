/**
 * Everything `camconnect bridge` can be told, validated once at the edge (zod). Defaults are the
 * embedded ones: an in-process broker, PGlite in the data folder, evidence on local disk.
 */
import { z } from 'zod';
import { EnrollmentConfig } from './enrollment/config.js';

export const BridgeConfig = z.strictObject({
  /** Holds the PGlite database, the RTCC key, evidence and upload staging. */
  dataDir: z.string().min(1),
  /** HTTP listen address; loopback by default (a reverse proxy terminates TLS in production). */
  host: z.string().default('127.0.0.1'),
  /** HTTP port; 0 picks a free one (tests). */
  port: z.int().min(0).max(65535).default(8080),
  /** postgres://... to use a server instead of PGlite. */
  databaseUrl: z.string().optional(),
  /** Postgres schema (tests isolate runs with a unique one). */
  databaseSchema: z.string().optional(),
  /** A real broker (mqtt://, mqtts://); when absent an embedded aedes broker is started. */
  mqttUrl: z.string().optional(),
  /** Port of the embedded broker; 0 picks a free one. */
  mqttPort: z.int().min(0).max(65535).default(1883),
  /** Host the embedded broker listens on. */
  mqttHost: z.string().default('127.0.0.1'),
  /**
   * MQTT 5 shared-subscription group (§4.8.2): instances with the same group split ingest so each
   * message is processed once. Only with a real MQTT 5 broker (aedes speaks 3.1.1 only).
   */
  shareGroup: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional(),
  /** Client id prefix; a random suffix keeps instances apart. */
  instanceId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,48}$/)
    .optional(),
  limits: z
    .strictObject({
      maxRadiusM: z.number().positive().default(800),
      maxWindowMs: z
        .int()
        .positive()
        .default(12 * 3600_000),
      /** How far beyond the geofence a camera still counts as "near" for fan-out. */
      nearMarginM: z.number().min(0).default(200),
      /** How long a signed request stays valid for agents. */
      requestTtlMs: z.int().positive().default(3600_000),
      /** One evidence file (tus Upload-Length) may not exceed this. */
      maxUploadBytes: z
        .int()
        .positive()
        .default(2 * 1024 ** 3),
      /** A health report older than this marks the device offline (3 missed 30 s reports). */
      healthStaleMs: z.int().positive().default(90_000),
    })
    .prefault({}),
  /** Optional raster tile URL template for the dashboard map ({z}/{x}/{y}); points draw without it. */
  tileUrl: z.string().optional(),
  /** Enrollment and broker credentials (cloud-bridge/enrollment/config.ts). */
  enrollment: EnrollmentConfig.prefault({}),
});
export type BridgeConfig = z.infer<typeof BridgeConfig>;
export type BridgeConfigInput = z.input<typeof BridgeConfig>;
export type Limits = BridgeConfig['limits'];
