/**
 * Moves messages from the outbox to the broker, oldest first, with a bounded
 * number in flight. An entry leaves the outbox only on its acknowledgement
 * (PUBACK for QoS 1, MQTT-4.3.2; the socket write for QoS 0), so a dropped
 * connection or a killed agent loses nothing: the next session sends again
 * from the oldest unacknowledged entry. MQTT keeps the order of QoS 1
 * messages on one session (MQTT-4.6.0-6), so one pump on one connection
 * delivers in order.
 */
import type { Logger } from '../../lib/log.js';
import type { MqttConnection, SessionInfo } from './connection.js';
import type { Outbox, OutboxEntry } from './outbox.js';

export interface Route {
  topic: string;
  qos: 0 | 1;
}

export interface PumpStats {
  sent: number;
  /** Refused by the broker (MQTT 5 PUBACK reason >= 0x80, e.g. 0x87 not authorized): not retried. */
  refused: number;
}

export class Pump {
  private window = 0;
  private inflight = 0;
  private epoch = 0;
  private readonly counters: PumpStats = { sent: 0, refused: 0 };

  constructor(
    private readonly outbox: Outbox,
    private readonly conn: MqttConnection,
    private readonly route: (name: string) => Route,
    private readonly maxInflight: number,
    private readonly log: Logger,
  ) {}

  /** A session is up: resend from the oldest unacknowledged entry. */
  up(session: SessionInfo): void {
    this.epoch++;
    this.inflight = 0;
    // Never exceed the broker's Receive Maximum (MQTT 5 §3.2.2.3.3): Mosquitto's default is 20.
    this.window = Math.max(1, Math.min(this.maxInflight, session.receiveMaximum));
    this.outbox.requeueInflight();
    this.kick();
  }

  down(): void {
    this.epoch++;
    this.window = 0;
    this.inflight = 0;
    this.outbox.requeueInflight();
  }

  stats(): PumpStats {
    return { ...this.counters };
  }

  /** Sends as much as the window allows. Cheap to call often. */
  kick(): void {
    while (this.inflight < this.window) {
      const e = this.outbox.next();
      if (!e) return;
      this.send(e);
    }
  }

  private send(e: OutboxEntry): void {
    const epoch = this.epoch;
    const r = this.route(e.name);
    this.outbox.markInflight(e);
    this.inflight++;
    this.conn.publish(r.topic, e.payload, r.qos, false).then(
      () => {
        // A late PUBACK from a previous session is still a real acknowledgement.
        this.outbox.ack(e.seq);
        this.counters.sent++;
        if (epoch !== this.epoch) return;
        this.inflight--;
        this.kick();
      },
      (err: unknown) => {
        if (epoch !== this.epoch) return;
        // MQTT.js fails in-flight callbacks just before it reports the close; give
        // down() a turn to claim them. If the session is still up after that, the
        // broker (MQTT 5 PUBACK reason >= 0x80, e.g. 0x87 not authorized) or the
        // client (packet too large) refused this message for good: resending
        // cannot succeed and would block everything queued behind it.
        setImmediate(() => {
          if (epoch !== this.epoch || !this.conn.up) return;
          const code = (err as { code?: unknown }).code;
          this.log.error('message refused; dropping it', { name: e.name, code, err: String(err) });
          this.outbox.ack(e.seq);
          this.counters.refused++;
          this.inflight--;
          this.kick();
        });
      },
    );
  }
}
