/**
 * Motion events from a camera's scene timeline: when the next flip of
 * `timeline.motionAt` happens, and the ONVIF notification messages that
 * report it.
 *
 * The flip times come from the scene spec (object start and end times), so
 * the event source sleeps exactly until the next flip instead of polling, and
 * the events match what the RTSP stream shows, which reads the same timeline.
 */
import type { SceneTimeline } from '../scenes.js';
import { esc, isoTime } from './soap.js';

export interface MotionFlip {
  /** Wall-clock ms (real time, not the device's offset clock) at which the state changes. */
  atMs: number;
  /** The state from atMs on. */
  isMotion: boolean;
}

/**
 * Scene-time positions (seconds, 0 <= p < duration) where motion switches, with
 * the state after each. Overlapping objects merge: only real changes count.
 */
export function flipPositions(timeline: SceneTimeline): { posSec: number; isMotion: boolean }[] {
  const { objects, durationSec } = timeline.scene;
  const inMotion = (p: number) => objects.some((o) => p >= o.startSec && p < o.endSec);
  const bounds = [...new Set(objects.flatMap((o) => [o.startSec, o.endSec % durationSec]))].sort(
    (a, b) => a - b,
  );
  const out: { posSec: number; isMotion: boolean }[] = [];
  bounds.forEach((b, i) => {
    // The state just before b is the state in the middle of the previous gap (cyclically).
    const prev = i > 0 ? bounds[i - 1]! : bounds[bounds.length - 1]! - durationSec;
    const before = inMotion(((((prev + b) / 2) % durationSec) + durationSec) % durationSec);
    const after = inMotion(b);
    if (before !== after) out.push({ posSec: b, isMotion: after });
  });
  return out;
}

/** The first flip strictly after `afterMs`, or undefined for a scene with no motion. */
export function nextMotionFlip(timeline: SceneTimeline, afterMs: number): MotionFlip | undefined {
  const flips = flipPositions(timeline);
  if (flips.length === 0) return undefined;
  const loopMs = timeline.scene.durationSec * 1000;
  // Same loop arithmetic as SceneTimeline.episodesBetween: loop n starts at loop0 + n * loopMs.
  const loop0 = timeline.epochMs - timeline.phaseSec * 1000;
  const n = Math.floor((afterMs - loop0) / loopMs);
  let best: MotionFlip | undefined;
  for (const k of [n, n + 1]) {
    for (const f of flips) {
      const atMs = loop0 + k * loopMs + f.posSec * 1000;
      if (atMs > afterMs && (!best || atMs < best.atMs)) best = { atMs, isMotion: f.isMotion };
    }
  }
  return best;
}

export const MOTION_TOPIC = 'tns1:RuleEngine/CellMotionDetector/Motion';
export const MOTION_ALARM_TOPIC = 'tns1:VideoSource/MotionAlarm';
export const TOPIC_DIALECT = 'http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet';

/** Tokens the events refer to; they match the media profiles. */
export const EVENT_TOKENS = {
  videoSource: 'vs0',
  videoSourceConfiguration: 'vsc0',
  videoAnalyticsConfiguration: 'vac0',
  rule: 'MotionRule',
} as const;

export type PropertyOperation = 'Initialized' | 'Changed' | 'Deleted';

export interface EventMessage {
  topic: string;
  /** A complete wsnt:NotificationMessage element. */
  xml: string;
}

function item(name: string, value: string | boolean): string {
  return `<tt:SimpleItem Name="${esc(name)}" Value="${esc(value)}"/>`;
}

function notification(
  topic: string,
  utcMs: number,
  op: PropertyOperation,
  source: string,
  data: string,
): EventMessage {
  return {
    topic,
    xml:
      `<wsnt:NotificationMessage><wsnt:Topic Dialect="${TOPIC_DIALECT}">${topic}</wsnt:Topic>` +
      `<wsnt:Message><tt:Message UtcTime="${isoTime(utcMs)}" PropertyOperation="${op}">` +
      `<tt:Source>${source}</tt:Source><tt:Data>${data}</tt:Data></tt:Message></wsnt:Message>` +
      `</wsnt:NotificationMessage>`,
  };
}

/**
 * Both motion topics for one state: the rule-engine cell motion detector
 * (ONVIF Core Annex / Profile S motion events) and the video source's
 * MotionAlarm. `deviceUtcMs` is in the device's (possibly offset) clock.
 */
export function motionMessages(
  isMotion: boolean,
  deviceUtcMs: number,
  op: PropertyOperation,
): EventMessage[] {
  return [
    notification(
      MOTION_TOPIC,
      deviceUtcMs,
      op,
      item('VideoSourceConfigurationToken', EVENT_TOKENS.videoSourceConfiguration) +
        item('VideoAnalyticsConfigurationToken', EVENT_TOKENS.videoAnalyticsConfiguration) +
        item('Rule', EVENT_TOKENS.rule),
      item('IsMotion', isMotion),
    ),
    notification(
      MOTION_ALARM_TOPIC,
      deviceUtcMs,
      op,
      item('Source', EVENT_TOKENS.videoSource),
      item('State', isMotion),
    ),
  ];
}

/**
 * Does a subscription filter (wsnt:TopicExpression, ConcreteSet dialect) let
 * `topic` through? `a|b` is a union, a trailing `//.` takes a whole subtree.
 * Prefixes are ignored: a client may bind the topic namespace to any prefix.
 */
export function topicMatches(expression: string | undefined, topic: string): boolean {
  if (expression === undefined || expression.trim() === '') return true;
  const local = (t: string) =>
    t
      .trim()
      .split('/')
      .map((seg) => seg.replace(/^[^:]*:/, ''))
      .join('/');
  const want = local(topic);
  return expression.split('|').some((alt) => {
    const a = alt.trim();
    if (a.endsWith('//.')) {
      const root = local(a.slice(0, -3));
      return want === root || want.startsWith(root + '/');
    }
    return local(a) === want;
  });
}

/** GetEventProperties' TopicSet: the two topics with their message descriptions. */
export const TOPIC_SET_XML =
  '<wstop:TopicSet>' +
  '<tns1:RuleEngine wstop:topic="false"><CellMotionDetector wstop:topic="false"><Motion wstop:topic="true">' +
  '<tt:MessageDescription IsProperty="true"><tt:Source>' +
  '<tt:SimpleItemDescription Name="VideoSourceConfigurationToken" Type="tt:ReferenceToken"/>' +
  '<tt:SimpleItemDescription Name="VideoAnalyticsConfigurationToken" Type="tt:ReferenceToken"/>' +
  '<tt:SimpleItemDescription Name="Rule" Type="xsd:string"/>' +
  '</tt:Source><tt:Data><tt:SimpleItemDescription Name="IsMotion" Type="xsd:boolean"/></tt:Data>' +
  '</tt:MessageDescription></Motion></CellMotionDetector></tns1:RuleEngine>' +
  '<tns1:VideoSource wstop:topic="false"><MotionAlarm wstop:topic="true">' +
  '<tt:MessageDescription IsProperty="true"><tt:Source>' +
  '<tt:SimpleItemDescription Name="Source" Type="tt:ReferenceToken"/></tt:Source>' +
  '<tt:Data><tt:SimpleItemDescription Name="State" Type="xsd:boolean"/></tt:Data>' +
  '</tt:MessageDescription></MotionAlarm></tns1:VideoSource>' +
  '</wstop:TopicSet>';
