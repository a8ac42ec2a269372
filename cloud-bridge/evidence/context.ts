import type { BridgePublisher } from '../../protocol/codec.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import type { Db } from '../db/db.js';
import type { Limits } from '../config.js';
import type { BridgeMetrics } from '../metrics.js';
import type { EvidenceStore } from './store.js';

/** What the evidence receiver needs; assembled by the composition root. */
export interface EvidenceContext {
  db: Db;
  store: EvidenceStore;
  clock: Clock;
  limits: Limits;
  metrics: BridgeMetrics;
  log: Logger;
  /** Sends evidence receipts to agents; absent in tests that have no broker. */
  publisher: BridgePublisher | undefined;
  /** Names this bridge in receipts (its RTCC key id). */
  receiverName: string;
}
