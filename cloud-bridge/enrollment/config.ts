/**
 * Enrollment and broker-credential settings of the bridge (the `enrollment` key of
 * BridgeConfig). Defaults fit the embedded single-box install.
 */
import { z } from 'zod';
import { MAX_URL_BYTES } from '../../provisioning/payload.js';

export const EnrollmentConfig = z.strictObject({
  /**
   * Embedded broker only: `registry` (every client authenticates: devices with the credentials
   * enrollment gave them, each confined to its own topics; the bridge with a per-process
   * secret) or `none` (anonymous clients may do anything: development, the demo, and tests
   * whose simulated agents are not enrolled). `camconnect bridge` defaults to `registry`.
   */
  brokerAuth: z.enum(['registry', 'none']).default('none'),
  /**
   * External broker only: create and delete device clients through Mosquitto's dynamic
   * security plugin ($CONTROL/dynamic-security/v1), using the account in the broker URL, which
   * must be a dynsec admin. Without it, a bridge on an external broker cannot enroll devices.
   */
  dynsec: z.boolean().default(false),
  /**
   * The broker URL handed to devices (e.g. mqtts://mqtt.rtcc.example:8883). Default: the
   * embedded broker's URL, or the external broker URL without its credentials.
   */
  agentMqttUrl: z
    .string()
    .regex(/^(mqtts?|tcp|ssl|tls):\/\/[^\s@]+$/, 'must be an mqtt(s):// URL without credentials')
    .optional(),
  /** PEM file of the CA that signs the broker's certificate, handed to devices for mqtts://. */
  agentMqttCaFile: z.string().optional(),
  /**
   * The bridge's URL as devices see it (through the reverse proxy). When set, every QR code
   * names it; otherwise the operator's request says (camconnect provision sends --bridge).
   */
  publicUrl: z
    .url({ protocol: /^https?$/ })
    .refine(
      (u) => Buffer.byteLength(u, 'utf8') <= MAX_URL_BYTES,
      `must be at most ${MAX_URL_BYTES} bytes to fit the QR code`,
    )
    .optional(),
  /** Default lifetime of an enrollment token. */
  tokenTtlMs: z
    .int()
    .positive()
    .max(7 * 24 * 3600_000)
    .default(24 * 3600_000),
});
export type EnrollmentConfig = z.infer<typeof EnrollmentConfig>;
export type EnrollmentConfigInput = z.input<typeof EnrollmentConfig>;
