/**
 * ONVIF event service, real-time pull-point interface (ONVIF Core 9.1, on WS-BaseNotification
 * 1.3): CreatePullPointSubscription, PullMessages, Renew, Unsubscribe, and the motion messages
 * Profile S cameras send:
 * - tns1:RuleEngine/CellMotionDetector/Motion, data item IsMotion (the cell motion detector rule)
 * - tns1:VideoSource/MotionAlarm, data item State
 * Both are properties (Core 9.2.1: IsProperty="true"): a new subscription first receives their
 * current value as "Initialized", then "Changed" messages. Vendors add their own motion topics
 * (e.g. tns1:RuleEngine/MyRuleDetector/Motion); any topic whose last segment contains "Motion"
 * with a boolean data item is read the same way.
 *
 * Pull points, not Notify callbacks: the agent then opens no port towards the cameras, and the
 * pull works through NAT and firewalls the same way.
 */
import { NS } from './onvif-device.js';
import { CameraError } from './errors.js';
import type { SoapClient } from './soap.js';
import { attr, child, children, parseDuration, text, type XmlNode } from './xml.js';

const WSNT = NS.wsnt;
const ACTION = {
  pull: `${NS.tev}/PullPointSubscription/PullMessagesRequest`,
  renew: 'http://docs.oasis-open.org/wsn/bw-2/SubscriptionManager/RenewRequest',
  unsubscribe: 'http://docs.oasis-open.org/wsn/bw-2/SubscriptionManager/UnsubscribeRequest',
  create: `${NS.tev}/EventPortType/CreatePullPointSubscriptionRequest`,
};

export interface MotionNotification {
  /** Topic without namespace prefixes, e.g. RuleEngine/CellMotionDetector/Motion. */
  topic: string;
  /** Which detector: the topic plus the Source items, so two rules are two states. */
  key: string;
  isMotion: boolean;
  operation?: 'Initialized' | 'Changed' | 'Deleted';
  /** Message UtcTime in the camera's clock (epoch ms), when given. */
  cameraTimeMs?: number;
}

export interface PullResult {
  motion: MotionNotification[];
  /** All messages received, motion or not. */
  count: number;
  /** TerminationTime minus CurrentTime, when the camera says (ms). */
  remainingMs?: number;
}

const MOTION_DATA_ITEMS = ['IsMotion', 'State', 'Motion', 'LogicalState'];

/** Reads one wsnt:NotificationMessage; undefined for anything that is not a motion state. */
export function parseMotionMessage(msg: XmlNode): MotionNotification | undefined {
  const topicRaw = text(msg, 'Topic') ?? '';
  const topic = topicRaw
    .split('/')
    .map((seg) => seg.trim().replace(/^[^:]*:/, ''))
    .join('/');
  const last = topic.split('/').pop() ?? '';
  if (!/motion/i.test(last)) return undefined;
  const m = child(child(msg, 'Message'), 'Message');
  const items = (part: string) =>
    children(child(m, part), 'SimpleItem').map(
      (i) => [attr(i, 'Name') ?? '', attr(i, 'Value') ?? ''] as const,
    );
  const data = items('Data').find(([name]) => MOTION_DATA_ITEMS.includes(name));
  if (!data) return undefined;
  const v = data[1].trim().toLowerCase();
  if (v !== 'true' && v !== 'false' && v !== '1' && v !== '0') return undefined;
  const source = items('Source')
    .map(([k, val]) => `${k}=${val}`)
    .sort()
    .join(',');
  const op = attr(m, 'PropertyOperation');
  const utc = attr(m, 'UtcTime');
  const t = utc ? Date.parse(utc) : NaN;
  return {
    topic,
    key: `${topic}|${source}`,
    isMotion: v === 'true' || v === '1',
    ...(op === 'Initialized' || op === 'Changed' || op === 'Deleted' ? { operation: op } : {}),
    ...(Number.isFinite(t) ? { cameraTimeMs: t } : {}),
  };
}

function remaining(r: XmlNode): number | undefined {
  const term = Date.parse(text(r, 'TerminationTime') ?? '');
  const cur = Date.parse(text(r, 'CurrentTime') ?? '');
  return Number.isFinite(term) && Number.isFinite(cur) ? term - cur : undefined;
}

const dur = (ms: number) => `PT${Math.max(1, Math.round(ms / 1000))}S`;

/** One pull-point subscription on one camera. */
export class PullPointSubscription {
  private address: string | undefined;

  constructor(
    private readonly soap: SoapClient,
    private readonly eventsXaddr: string,
  ) {}

  get active(): boolean {
    return this.address !== undefined;
  }

  /** Creates the pull point; returns how long it lives without renewal (ms) when the camera says. */
  async create(terminationMs: number, signal?: AbortSignal): Promise<number | undefined> {
    const r = await this.soap.call(
      this.eventsXaddr,
      NS.tev,
      'CreatePullPointSubscription',
      `<InitialTerminationTime>${dur(terminationMs)}</InitialTerminationTime>`,
      { signal, actionUri: ACTION.create },
    );
    const address = text(r, 'SubscriptionReference', 'Address');
    if (!address || !/^https?:\/\//i.test(address)) {
      throw new CameraError(
        this.soap.camera,
        'malformed',
        'CreatePullPointSubscription',
        'no subscription address in the answer',
      );
    }
    this.address = address;
    return remaining(r);
  }

  /**
   * Long poll: the camera answers as soon as a message is queued, or after `waitMs` with none.
   * The HTTP deadline is the wait plus `graceMs`: a camera that holds the request longer is hung.
   */
  async pull(waitMs: number, limit: number, graceMs: number, signal?: AbortSignal): Promise<PullResult> {
    const r = await this.soap.call(
      this.need('PullMessages'),
      NS.tev,
      'PullMessages',
      `<Timeout>${dur(waitMs)}</Timeout><MessageLimit>${limit}</MessageLimit>`,
      { signal, actionUri: ACTION.pull, addressing: true, timeoutMs: waitMs + graceMs },
    );
    const messages = children(r, 'NotificationMessage');
    const motion = messages.map(parseMotionMessage).filter((m): m is MotionNotification => m !== undefined);
    const rem = remaining(r);
    return { motion, count: messages.length, ...(rem !== undefined ? { remainingMs: rem } : {}) };
  }

  /** WS-BaseNotification Renew; returns the new lifetime when the camera says. */
  async renew(terminationMs: number, signal?: AbortSignal): Promise<number | undefined> {
    const r = await this.soap.call(
      this.need('Renew'),
      WSNT,
      'Renew',
      `<TerminationTime>${dur(terminationMs)}</TerminationTime>`,
      { signal, actionUri: ACTION.renew, addressing: true },
    );
    const rem = remaining(r);
    if (rem !== undefined) return rem;
    const d = parseDuration(text(r, 'TerminationTime') ?? '');
    return d;
  }

  /** Best effort: the camera frees the pull point now instead of at its termination time. */
  async unsubscribe(signal?: AbortSignal): Promise<void> {
    const address = this.address;
    this.address = undefined;
    if (!address) return;
    await this.soap.call(address, WSNT, 'Unsubscribe', '', {
      signal,
      actionUri: ACTION.unsubscribe,
      addressing: true,
      timeoutMs: 3000,
    });
  }

  forget(): void {
    this.address = undefined;
  }

  private need(operation: string): string {
    if (!this.address) throw new CameraError(this.soap.camera, 'aborted', operation, 'no subscription');
    return this.address;
  }
}
