/**
 * The composition root of `camconnect bridge`. The constructor only records options; start()
 * opens the data folder, the RTCC key, the database (and migrates it), then starts the parts in
 * order: embedded broker (unless a broker URL is given), MQTT link, evidence receiver, HTTP,
 * sweeper. stop() stops them in reverse and closes the database last.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { keyIdOf } from '../protocol/signing.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { Composition, type Health, type Service } from '../lib/lifecycle.js';
import { silentLogger, type Logger } from '../lib/log.js';
import { BridgeConfig, type BridgeConfigInput } from './config.js';
import { openDb, type Db } from './db/db.js';
import { migrate } from './db/migrate.js';
import { loadOrCreateRtccKey, type RtccKey } from './keys.js';
import { createMetrics, type BridgeMetrics } from './metrics.js';
import { EmbeddedBroker } from './mqtt/broker.js';
import { BridgeLink } from './mqtt/link.js';
import { IngestSink } from './ingest.js';
import { IncidentService } from './incidents/service.js';
import { EvidenceReceiver } from './evidence/receiver.js';
import { LocalDiskStore, type EvidenceStore } from './evidence/store.js';
import { Router } from './http/router.js';
import { apiRoutes } from './http/api.js';
import { HttpService } from './http/server.js';
import { countApiTokens, createApiToken } from './http/auth.js';
import { serveDashboard } from './dashboard/serve.js';
import { Sweeper } from './sweeper.js';
import { BridgeEnrollment } from './enrollment/index.js';

export interface BridgeOptions {
  config: BridgeConfigInput;
  clock?: Clock;
  log?: Logger;
  /** Evidence store; local disk under the data folder by default. */
  store?: EvidenceStore;
  /** Collect Node process metrics too (off in tests: two instances in one process). */
  processMetrics?: boolean;
}

/** Written on first start when no API token exists, so the operator can log in. */
export const FIRST_TOKEN_FILE = 'operator-token';

export class Bridge implements Service {
  readonly name = 'bridge';
  readonly config: BridgeConfig;
  readonly metrics: BridgeMetrics;
  private readonly clock: Clock;
  private readonly log: Logger;
  private parts: Composition | undefined;
  private dbHandle: Db | undefined;
  private http: HttpService | undefined;
  private broker: EmbeddedBroker | undefined;
  private linkHandle: BridgeLink | undefined;
  private incidentService: IncidentService | undefined;
  private key: RtccKey | undefined;
  private readonly closing = new AbortController();

  constructor(private readonly opts: BridgeOptions) {
    this.config = BridgeConfig.parse(opts.config);
    if (this.config.shareGroup && !this.config.mqttUrl) {
      throw new Error(
        'a share group needs an MQTT 5 broker (--mqtt-url); the embedded broker speaks MQTT 3.1.1 only',
      );
    }
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? silentLogger;
    this.metrics = createMetrics({ defaultMetrics: opts.processMetrics ?? false });
  }

  get url(): string {
    if (!this.http) throw new Error('the bridge is not started');
    return this.http.url;
  }
  get mqttUrl(): string {
    return this.config.mqttUrl ?? this.broker?.url ?? '';
  }
  get db(): Db {
    if (!this.dbHandle) throw new Error('the bridge is not started');
    return this.dbHandle;
  }
  get link(): BridgeLink {
    if (!this.linkHandle) throw new Error('the bridge is not started');
    return this.linkHandle;
  }
  get incidents(): IncidentService {
    if (!this.incidentService) throw new Error('the bridge is not started');
    return this.incidentService;
  }
  get rtccKey(): RtccKey {
    if (!this.key) throw new Error('the bridge is not started');
    return this.key;
  }

  async start(signal: AbortSignal): Promise<void> {
    const { config, clock, log, metrics } = this;
    mkdirSync(config.dataDir, { recursive: true });
    this.key = loadOrCreateRtccKey(config.dataDir);
    const db = await openDb({
      url: config.databaseUrl,
      dataDir: config.databaseUrl ? undefined : path.join(config.dataDir, 'db'),
      schema: config.databaseSchema,
    });
    this.dbHandle = db;
    try {
      const applied = await migrate(db, () => clock.now());
      if (applied.length > 0) log.info('database migrated', { versions: applied, kind: db.kind });
      await this.ensureFirstToken(db);

      // Broker credentials for devices (issue 7): aedes hooks, or Mosquitto dynamic security.
      const enrollment = new BridgeEnrollment({
        db,
        clock,
        log,
        config: config.enrollment,
        rtcc: this.key,
        rtccKeyId: keyIdOf(this.key.publicKey),
        externalMqttUrl: config.mqttUrl,
        embeddedUrl: () => this.mqttUrl,
      });
      const broker = config.mqttUrl
        ? undefined
        : new EmbeddedBroker(
            config.mqttHost,
            config.mqttPort,
            log.child({ part: 'broker' }),
            enrollment.auth,
          );
      this.broker = broker;
      const keyId = keyIdOf(this.key.publicKey);
      // The incident service and the link need each other: the service publishes through the
      // link, the link delivers replies to the service. A late-bound publisher breaks the cycle.
      const publisher = {
        publish: ((agentId, name, payload) =>
          this.link.publish(agentId, name, payload)) as BridgeLink['publish'],
      };
      const incidents = new IncidentService({
        db,
        clock,
        limits: config.limits,
        key: this.key,
        issuer: `camconnect-bridge ${keyId}`,
        publisher,
        metrics,
        log: log.child({ part: 'incidents' }),
      });
      this.incidentService = incidents;
      const link = new BridgeLink(
        {
          url: () => enrollment.linkUrl(this.mqttUrl),
          protocolVersion: config.mqttUrl ? 5 : 4,
          shareGroup: config.shareGroup,
          instanceId: config.instanceId,
          now: () => clock.now(),
        },
        new IngestSink(db, incidents),
        metrics,
        log.child({ part: 'mqtt' }),
      );
      this.linkHandle = link;
      const store = this.opts.store ?? new LocalDiskStore(path.join(config.dataDir, 'evidence'));
      const receiver = new EvidenceReceiver(
        {
          db,
          store,
          clock,
          limits: config.limits,
          metrics,
          log: log.child({ part: 'evidence' }),
          publisher,
          receiverName: `camconnect-bridge ${keyId}`,
        },
        path.join(config.dataDir, 'uploads'),
      );
      const router = new Router();
      for (const r of apiRoutes({
        db,
        clock,
        config,
        incidents,
        store,
        metrics,
        rtccPublicKey: this.key.publicKeyB64u,
        rtccKeyId: keyId,
        closing: this.closing.signal,
      })) {
        router.add(r);
      }
      for (const r of enrollment.routes()) router.add(r);
      const http = new HttpService({
        host: config.host,
        port: config.port,
        db,
        router,
        metrics,
        log: log.child({ part: 'http' }),
        now: () => clock.now(),
        uploads: (req, res) => receiver.handle(req, res),
        dashboard: serveDashboard,
        health: () => this.health(),
      });
      this.http = http;
      const sweeper = new Sweeper(
        db,
        clock,
        config.limits.healthStaleMs,
        metrics,
        log.child({ part: 'sweeper' }),
      );
      this.parts = new Composition([
        ...(broker ? [broker] : []),
        ...enrollment.services(),
        link,
        receiver,
        http,
        sweeper,
      ]);
      await this.parts.start(signal);
    } catch (err) {
      await db.close();
      this.dbHandle = undefined;
      throw err;
    }
  }

  /**
   * First start: no token exists, so nobody could use the API. Create an operator token and
   * write it to a 0600 file in the data folder (never to the log); the operator reads it once.
   */
  private async ensureFirstToken(db: Db): Promise<void> {
    if ((await countApiTokens(db)) > 0) return;
    const { token } = await createApiToken(db, 'first operator', 'operator', this.clock.now());
    const file = path.join(this.config.dataDir, FIRST_TOKEN_FILE);
    writeFileSync(file, token + '\n', { mode: 0o600 });
    chmodSync(file, 0o600);
    this.log.info('created the first operator API token', { file });
  }

  async stop(): Promise<void> {
    this.closing.abort();
    const parts = this.parts;
    this.parts = undefined;
    try {
      if (parts) await parts.stop();
    } finally {
      const db = this.dbHandle;
      this.dbHandle = undefined;
      if (db) await db.close();
    }
  }

  health(): Health {
    return this.parts ? this.parts.health() : { state: 'stopped' };
  }
}
