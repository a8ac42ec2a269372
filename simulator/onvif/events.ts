/**
 * The event service of the simulated device: real-time pull points (ONVIF
 * Core 9.1 "Real-time Pull-Point Notification Interface", on top of
 * WS-BaseNotification 1.3) carrying motion events from the scene timeline.
 *
 * Flips are scheduled from the scene spec (motion.ts), one timer at a time;
 * each flip is queued on every pull point whose filter lets it through, and a
 * PullMessages request held open (long poll) is answered as soon as one arrives.
 */
import type { Logger } from '../../lib/log.js';
import type { SceneTimeline } from '../scenes.js';
import {
  motionMessages,
  nextMotionFlip,
  topicMatches,
  TOPIC_SET_XML,
  TOPIC_DIALECT,
  type EventMessage,
} from './motion.js';
import {
  SoapFault,
  child,
  faults,
  formatDuration,
  isoTime,
  parseDuration,
  parseTerminationTime,
  text,
  type SoapRequest,
} from './soap.js';

export const MAX_PULL_POINTS = 16;
/** Longest PullMessages wait we honour; a longer Timeout gets PullMessagesFaultResponse (Core 9.1). */
export const MAX_PULL_TIMEOUT_MS = 5 * 60_000;
export const MAX_MESSAGE_LIMIT = 100;
const DEFAULT_TERMINATION_MS = 60_000;
const MAX_TERMINATION_MS = 60 * 60_000;
const QUEUE_CAP = 100;

export const EVENT_CAPABILITIES_XML =
  `<tev:Capabilities WSSubscriptionPolicySupport="false" WSPullPointSupport="true" ` +
  `WSPausableSubscriptionManagerInterfaceSupport="false" MaxNotificationProducers="0" ` +
  `MaxPullPoints="${MAX_PULL_POINTS}" PersistentNotificationStorage="false"/>`;

export interface EventServiceOptions {
  timeline: SceneTimeline;
  /** Real wall clock (the timeline runs on it). */
  realNow: () => number;
  /** Offset between the device clock and real time, ms. */
  offsetMs: () => number;
  /** Address of a pull point, e.g. http://127.0.0.1:PORT/onvif/events_service/pullpoint/ID. */
  subscriptionAddress: (id: string) => string;
  log: Logger;
}

interface Waiter {
  limit: number;
  resolve: (messages: EventMessage[]) => void;
  timer: NodeJS.Timeout;
}

interface PullPoint {
  id: string;
  filter?: string;
  /** Device-clock ms. */
  terminationMs: number;
  /** How long a pull keeps the point alive: the requested initial termination. */
  keepAliveMs: number;
  queue: EventMessage[];
  waiter?: Waiter;
  expiry?: NodeJS.Timeout;
}

export class EventService {
  private readonly points = new Map<string, PullPoint>();
  private motionTimer: NodeJS.Timeout | undefined;
  private nextId = 1;

  constructor(private readonly o: EventServiceOptions) {}

  private deviceNow(): number {
    return this.o.realNow() + this.o.offsetMs();
  }

  start(): void {
    this.scheduleFlip(this.o.realNow());
  }

  stop(): void {
    clearTimeout(this.motionTimer);
    this.motionTimer = undefined;
    for (const id of [...this.points.keys()]) this.drop(id);
  }

  pullPointCount(): number {
    return this.points.size;
  }

  /** Actions on /onvif/events_service. */
  handleService(req: SoapRequest): string {
    switch (req.action) {
      case 'GetServiceCapabilities':
        return `<tev:GetServiceCapabilitiesResponse>${EVENT_CAPABILITIES_XML}</tev:GetServiceCapabilitiesResponse>`;
      case 'GetEventProperties':
        return (
          '<tev:GetEventPropertiesResponse>' +
          '<tev:TopicNamespaceLocation>http://www.onvif.org/onvif/ver10/topics/topicns.xml</tev:TopicNamespaceLocation>' +
          `<wsnt:FixedTopicSet>true</wsnt:FixedTopicSet>${TOPIC_SET_XML}` +
          `<wsnt:TopicExpressionDialect>${TOPIC_DIALECT}</wsnt:TopicExpressionDialect>` +
          '<wsnt:TopicExpressionDialect>http://docs.oasis-open.org/wsn/t-1/TopicExpression/Concrete</wsnt:TopicExpressionDialect>' +
          '<tev:MessageContentFilterDialect>http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter</tev:MessageContentFilterDialect>' +
          '<tev:MessageContentSchemaLocation>http://www.onvif.org/onvif/ver10/schema/onvif.xsd</tev:MessageContentSchemaLocation>' +
          '</tev:GetEventPropertiesResponse>'
        );
      case 'CreatePullPointSubscription':
        return this.create(req);
      default:
        throw faults.actionNotSupported(req.action);
    }
  }

  /** Actions on a pull point's own address (the subscription manager, WS-BaseNotification §6). */
  async handleSubscription(id: string, req: SoapRequest, signal: AbortSignal): Promise<string> {
    const p = this.points.get(id);
    if (!p) {
      throw new SoapFault({
        code: 'Sender',
        subcodes: ['wsrfr:ResourceUnknownFault'],
        reason: 'No such subscription (unsubscribed or expired)',
        detail: `<wsrfr:ResourceUnknownFault><wsrfr:Timestamp>${isoTime(this.deviceNow())}</wsrfr:Timestamp></wsrfr:ResourceUnknownFault>`,
      });
    }
    switch (req.action) {
      case 'PullMessages':
        return this.pull(p, req, signal);
      case 'Renew': {
        const requested = text(req.body, 'TerminationTime');
        this.setTermination(p, requested ? this.termination(requested) : this.deviceNow() + p.keepAliveMs);
        return `<wsnt:RenewResponse><wsnt:TerminationTime>${isoTime(p.terminationMs)}</wsnt:TerminationTime><wsnt:CurrentTime>${isoTime(this.deviceNow())}</wsnt:CurrentTime></wsnt:RenewResponse>`;
      }
      case 'Unsubscribe':
        this.drop(id);
        return '<wsnt:UnsubscribeResponse/>';
      case 'SetSynchronizationPoint':
        // SetSynchronizationPoint (Core 9): re-send every property's current state as "Initialized".
        this.push(
          p,
          motionMessages(this.o.timeline.motionAt(this.o.realNow()), this.deviceNow(), 'Initialized'),
        );
        return '<tev:SetSynchronizationPointResponse/>';
      default:
        throw faults.actionNotSupported(req.action);
    }
  }

  private create(req: SoapRequest): string {
    if (this.points.size >= MAX_PULL_POINTS) {
      throw new SoapFault({
        code: 'Receiver',
        subcodes: ['wsntw:SubscribeCreationFailedFault'],
        reason: `Too many pull points (max ${MAX_PULL_POINTS}); unsubscribe or let old ones expire`,
      });
    }
    const requested = text(req.body, 'InitialTerminationTime');
    const now = this.deviceNow();
    const terminationMs = requested ? this.termination(requested) : now + DEFAULT_TERMINATION_MS;
    const filter = text(child(req.body, 'Filter'), 'TopicExpression');
    const p: PullPoint = {
      id: String(this.nextId++),
      terminationMs,
      keepAliveMs: terminationMs - now,
      queue: [],
    };
    if (filter !== undefined) p.filter = filter;
    this.points.set(p.id, p);
    this.setTermination(p, terminationMs);
    // Core 9 (properties): a new subscriber first gets the current state of every property.
    this.push(p, motionMessages(this.o.timeline.motionAt(this.o.realNow()), now, 'Initialized'));
    this.o.log.debug('pull point created', { id: p.id, filter: p.filter ?? null });
    return (
      '<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference>' +
      `<wsa:Address>${this.o.subscriptionAddress(p.id)}</wsa:Address></tev:SubscriptionReference>` +
      `<wsnt:CurrentTime>${isoTime(now)}</wsnt:CurrentTime><wsnt:TerminationTime>${isoTime(terminationMs)}</wsnt:TerminationTime>` +
      '</tev:CreatePullPointSubscriptionResponse>'
    );
  }

  private async pull(p: PullPoint, req: SoapRequest, signal: AbortSignal): Promise<string> {
    let timeoutMs: number;
    let limit: number;
    try {
      timeoutMs = parseDuration(text(req.body, 'Timeout') ?? '');
      limit = Number.parseInt(text(req.body, 'MessageLimit') ?? '', 10);
      if (!(limit > 0)) throw new Error('MessageLimit must be a positive integer');
    } catch (err) {
      throw faults.invalidArgVal('ter:InvalidArgs', `PullMessages: ${(err as Error).message}`);
    }
    if (timeoutMs > MAX_PULL_TIMEOUT_MS) {
      throw new SoapFault({
        code: 'Sender',
        subcodes: ['ter:InvalidArgVal'],
        reason: `PullMessages Timeout above ${formatDuration(MAX_PULL_TIMEOUT_MS)}`,
        detail: `<tev:PullMessagesFaultResponse><tev:MaxTimeout>${formatDuration(MAX_PULL_TIMEOUT_MS)}</tev:MaxTimeout><tev:MaxMessageLimit>${MAX_MESSAGE_LIMIT}</tev:MaxMessageLimit></tev:PullMessagesFaultResponse>`,
      });
    }
    limit = Math.min(limit, MAX_MESSAGE_LIMIT); // "A server implementation may decide to return less messages."
    // A pull point is shut down only "without further pull requests" (events.wsdl): each pull keeps it alive.
    this.setTermination(p, Math.max(p.terminationMs, this.deviceNow() + Math.max(p.keepAliveMs, timeoutMs)));
    let messages = p.queue.splice(0, limit);
    if (messages.length === 0 && timeoutMs > 0) {
      this.release(p, []); // a newer pull supersedes one still waiting
      messages = await new Promise<EventMessage[]>((resolve) => {
        const w: Waiter = { limit, resolve, timer: setTimeout(() => this.release(p, [], w), timeoutMs) };
        p.waiter = w;
        // The client went away: answer nothing, so later messages stay queued for its next pull.
        // Only this request's own waiter: a newer pull may hold the point by then.
        if (signal.aborted) this.release(p, [], w);
        else signal.addEventListener('abort', () => this.release(p, [], w), { once: true });
      });
    }
    return (
      `<tev:PullMessagesResponse><tev:CurrentTime>${isoTime(this.deviceNow())}</tev:CurrentTime>` +
      `<tev:TerminationTime>${isoTime(p.terminationMs)}</tev:TerminationTime>` +
      messages.map((m) => m.xml).join('') +
      '</tev:PullMessagesResponse>'
    );
  }

  /** Answers the held PullMessages, if any (or only `only`, if given and still held). */
  private release(p: PullPoint, messages: EventMessage[], only?: Waiter): void {
    const w = p.waiter;
    if (!w || (only && w !== only)) return;
    p.waiter = undefined;
    clearTimeout(w.timer);
    w.resolve(messages);
  }

  private push(p: PullPoint, messages: EventMessage[]): void {
    p.queue.push(...messages.filter((m) => topicMatches(p.filter, m.topic)));
    // A client that stopped pulling must not grow memory without bound: keep the newest.
    if (p.queue.length > QUEUE_CAP) p.queue.splice(0, p.queue.length - QUEUE_CAP);
    if (p.waiter && p.queue.length > 0) this.release(p, p.queue.splice(0, p.waiter.limit));
  }

  private termination(value: string): number {
    const now = this.deviceNow();
    let t: number;
    try {
      t = parseTerminationTime(value, now);
    } catch (err) {
      throw faults.invalidArgVal('ter:InvalidArgs', (err as Error).message);
    }
    if (t <= now) {
      throw new SoapFault({
        code: 'Sender',
        subcodes: ['wsntw:UnacceptableInitialTerminationTimeFault'],
        reason: 'Termination time is not in the future',
      });
    }
    return Math.min(t, now + MAX_TERMINATION_MS);
  }

  /** Sets when the point expires and arms the timer that removes it (WS-BaseNotification §6.1). */
  private setTermination(p: PullPoint, terminationMs: number): void {
    p.terminationMs = terminationMs;
    clearTimeout(p.expiry);
    p.expiry = setTimeout(
      () => {
        this.o.log.debug('pull point expired', { id: p.id });
        this.drop(p.id);
      },
      Math.max(0, terminationMs - this.deviceNow()),
    );
  }

  private drop(id: string): void {
    const p = this.points.get(id);
    if (!p) return;
    this.points.delete(id);
    clearTimeout(p.expiry);
    this.release(p, []);
  }

  /** Sleeps until the next flip of the scene's motion state, then fans it out. */
  private scheduleFlip(afterMs: number): void {
    const flip = nextMotionFlip(this.o.timeline, afterMs);
    if (!flip) return; // a scene without moving objects never flips
    this.motionTimer = setTimeout(
      () => {
        // Stamp the event with the moment the picture changed, in the device's clock.
        const messages = motionMessages(flip.isMotion, flip.atMs + this.o.offsetMs(), 'Changed');
        for (const p of this.points.values()) this.push(p, messages);
        this.o.log.debug('motion flip', { isMotion: flip.isMotion, pullPoints: this.points.size });
        // From the flip's own time, not "now": a timer that fires a little early cannot repeat it.
        this.scheduleFlip(flip.atMs);
      },
      Math.max(0, flip.atMs - this.o.realNow()),
    );
  }
}
