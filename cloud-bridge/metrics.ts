/**
 * Prometheus metrics, one registry per bridge instance (not prom-client's global one), so two
 * instances in one process (the scale test) count separately and a test can read its own.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface BridgeMetrics {
  registry: Registry;
  ingested: Counter<'topic'>;
  ingestErrors: Counter<'topic' | 'reason'>;
  incidents: Counter<'result'>;
  incidentTargets: Counter;
  uploads: Counter<'result'>;
  uploadBytes: Counter;
  apiRequests: Counter<'method' | 'route' | 'status'>;
  apiErrors: Counter<'route' | 'reason'>;
  devicesOnline: Gauge;
  fanoutSeconds: Histogram;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): BridgeMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'camconnect_bridge_' });
  const registers = [registry];
  return {
    registry,
    ingested: new Counter({
      name: 'camconnect_bridge_messages_ingested_total',
      help: 'MQTT messages decoded and stored, by topic type',
      labelNames: ['topic'],
      registers,
    }),
    ingestErrors: new Counter({
      name: 'camconnect_bridge_ingest_errors_total',
      help: 'MQTT messages refused (bad topic, bad payload, unknown device) or failed to store',
      labelNames: ['topic', 'reason'],
      registers,
    }),
    incidents: new Counter({
      name: 'camconnect_bridge_incidents_total',
      help: 'Incident requests, by result (created, invalid)',
      labelNames: ['result'],
      registers,
    }),
    incidentTargets: new Counter({
      name: 'camconnect_bridge_incident_targets_total',
      help: 'Signed requests sent to agents',
      registers,
    }),
    uploads: new Counter({
      name: 'camconnect_bridge_uploads_total',
      help: 'Evidence uploads by result (created, received, verified, rejected)',
      labelNames: ['result'],
      registers,
    }),
    uploadBytes: new Counter({
      name: 'camconnect_bridge_upload_bytes_total',
      help: 'Evidence bytes received',
      registers,
    }),
    apiRequests: new Counter({
      name: 'camconnect_bridge_api_requests_total',
      help: 'HTTP API requests',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    apiErrors: new Counter({
      name: 'camconnect_bridge_api_errors_total',
      help: 'HTTP API requests refused or failed, by reason',
      labelNames: ['route', 'reason'],
      registers,
    }),
    devicesOnline: new Gauge({
      name: 'camconnect_bridge_devices_online',
      help: 'Devices whose status is online (as last computed by this instance)',
      registers,
    }),
    fanoutSeconds: new Histogram({
      name: 'camconnect_bridge_incident_fanout_seconds',
      help: 'Time to create, sign and publish an incident to its targets',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
  };
}
