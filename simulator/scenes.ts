/**
 * Scripted scenes for the simulated cameras. A scene is a still background
 * with sensor noise, plus objects that enter and leave at known times. The
 * specs here are the single source of truth: the encoder draws from them, the
 * ONVIF event source fires from them, and the ground truth JSON exported next
 * to each encoded scene is derived from them.
 *
 * All times are seconds of scene time, 0 <= t < durationSec. A scene loops, so
 * no motion interval may straddle the loop point (checked by validateScene).
 */

/** A rectangle that moves linearly from `from` to `to` while visible. Coordinates are
 * fractions of the frame (0..1), so the same script draws main and sub streams. */
export interface MovingObject {
  /** What it stands for, for people reading the ground truth. */
  label: string;
  startSec: number;
  endSec: number;
  /** Top-left corner at start and at end, as fractions of width/height. */
  from: { x: number; y: number };
  to: { x: number; y: number };
  /** Size as fractions of width/height. */
  w: number;
  h: number;
  /** ffmpeg colour name or 0xRRGGBB. */
  color: string;
}

/** A sudden change of the whole frame's brightness: lights, clouds, IR switch. Not motion. */
export interface BrightnessStep {
  atSec: number;
  /** Added to luma in the range -1..1 (ffmpeg eq brightness) until the next step. */
  brightness: number;
}

export interface SceneSpec {
  name: string;
  description: string;
  durationSec: number;
  /** Background generator hint: which still the encoder paints. */
  background: 'street' | 'lobby' | 'parking' | 'corridor';
  /** Sensor noise strength (ffmpeg noise filter alls), 0 = none. */
  noise: number;
  objects: MovingObject[];
  brightness: BrightnessStep[];
}

export interface StreamProfile {
  role: 'main' | 'sub';
  width: number;
  height: number;
  fps: number;
  /** Keyframe interval in frames. One second: a clip can start within 1 s of any time. */
  gop: number;
  /** Target bitrate, kbit/s (x264 VBV cap, so the served rate is known). */
  kbps: number;
}

export const STREAM_PROFILES: Record<StreamProfile['role'], StreamProfile> = {
  main: { role: 'main', width: 1280, height: 720, fps: 15, gop: 15, kbps: 1500 },
  sub: { role: 'sub', width: 640, height: 360, fps: 15, gop: 15, kbps: 400 },
};

export const SCENES: readonly SceneSpec[] = [
  {
    name: 'street',
    description: 'A street front: a pedestrian crosses, later a car passes.',
    durationSec: 30,
    background: 'street',
    noise: 6,
    objects: [
      {
        label: 'person',
        startSec: 4,
        endSec: 9,
        from: { x: 0.05, y: 0.45 },
        to: { x: 0.85, y: 0.45 },
        w: 0.06,
        h: 0.3,
        color: '0x202840',
      },
      {
        label: 'car',
        startSec: 17,
        endSec: 21,
        from: { x: 0.8, y: 0.6 },
        to: { x: 0.0, y: 0.6 },
        w: 0.2,
        h: 0.15,
        color: '0xa01010',
      },
    ],
    brightness: [],
  },
  {
    name: 'lobby',
    description: 'A building lobby: two people walk through at different times.',
    durationSec: 30,
    background: 'lobby',
    noise: 6,
    objects: [
      {
        label: 'person',
        startSec: 7,
        endSec: 12,
        from: { x: 0.7, y: 0.3 },
        to: { x: 0.2, y: 0.4 },
        w: 0.08,
        h: 0.35,
        color: '0x303030',
      },
      {
        label: 'person',
        startSec: 20,
        endSec: 25,
        from: { x: 0.1, y: 0.35 },
        to: { x: 0.6, y: 0.3 },
        w: 0.08,
        h: 0.35,
        color: '0x1a3a1a',
      },
    ],
    brightness: [],
  },
  {
    name: 'still',
    description: 'A parking lot at night with nothing moving: sensor noise only.',
    durationSec: 30,
    background: 'parking',
    noise: 8,
    objects: [],
    brightness: [],
  },
  {
    name: 'lights',
    description: 'A corridor whose lights switch on and off: global brightness changes, no motion.',
    durationSec: 30,
    background: 'corridor',
    noise: 6,
    objects: [],
    brightness: [
      { atSec: 10, brightness: 0.25 },
      { atSec: 20, brightness: 0 },
    ],
  },
];

export interface GroundTruthEpisode {
  startSec: number;
  endSec: number;
  label: string;
  /** Bounding box of the whole path, fractions of the frame. */
  bbox: { x: number; y: number; w: number; h: number };
}

export interface GroundTruth {
  scene: string;
  durationSec: number;
  motion: GroundTruthEpisode[];
  /** Times of global brightness changes that a detector must NOT report. */
  brightnessChanges: number[];
}

export function validateScene(s: SceneSpec): void {
  for (const o of s.objects) {
    if (!(o.startSec >= 0 && o.endSec > o.startSec && o.endSec < s.durationSec)) {
      throw new Error(`scene ${s.name}: object ${o.label} must lie inside one loop (0..${s.durationSec})`);
    }
  }
}

export function groundTruth(s: SceneSpec): GroundTruth {
  validateScene(s);
  return {
    scene: s.name,
    durationSec: s.durationSec,
    motion: s.objects.map((o) => {
      const x = Math.min(o.from.x, o.to.x);
      const y = Math.min(o.from.y, o.to.y);
      return {
        startSec: o.startSec,
        endSec: o.endSec,
        label: o.label,
        bbox: { x, y, w: Math.max(o.from.x, o.to.x) - x + o.w, h: Math.max(o.from.y, o.to.y) - y + o.h },
      };
    }),
    brightnessChanges: s.brightness.map((b) => b.atSec),
  };
}

export function sceneByName(name: string): SceneSpec {
  const s = SCENES.find((x) => x.name === name);
  if (!s) throw new Error(`unknown scene "${name}" (known: ${SCENES.map((x) => x.name).join(', ')})`);
  return s;
}

/** Camera k (1-based) shows scene (k-1) mod N, shifted by a phase so cameras sharing a scene differ. */
export function sceneForCamera(k: number): { scene: SceneSpec; phaseSec: number } {
  const scene = SCENES[(k - 1) % SCENES.length]!;
  const phaseSec = (Math.floor((k - 1) / SCENES.length) * 7) % scene.durationSec;
  return { scene, phaseSec };
}

/**
 * A camera's live timeline: the scene loops from `epochMs` (wall clock) on,
 * shifted by `phaseSec`. Every RTSP session and the ONVIF event source of the
 * camera read positions from the same timeline, so events are in step with
 * the pictures.
 */
export class SceneTimeline {
  constructor(
    readonly scene: SceneSpec,
    readonly epochMs: number,
    readonly phaseSec = 0,
  ) {}

  /** Scene time (seconds) shown at wall-clock time `atMs`. */
  position(atMs: number): number {
    const d = this.scene.durationSec;
    const t = (atMs - this.epochMs) / 1000 + this.phaseSec;
    return ((t % d) + d) % d;
  }

  /** Is any scripted object visible at wall-clock time `atMs`? */
  motionAt(atMs: number): boolean {
    const p = this.position(atMs);
    return this.scene.objects.some((o) => p >= o.startSec && p < o.endSec);
  }

  /** Ground-truth motion episodes in wall-clock time that overlap [fromMs, toMs). */
  episodesBetween(fromMs: number, toMs: number): { startMs: number; endMs: number; label: string }[] {
    const d = this.scene.durationSec * 1000;
    const out: { startMs: number; endMs: number; label: string }[] = [];
    const loop0 = this.epochMs - this.phaseSec * 1000;
    const first = Math.floor((fromMs - loop0) / d) - 1;
    const last = Math.ceil((toMs - loop0) / d);
    for (let n = first; n <= last; n++) {
      for (const o of this.scene.objects) {
        const startMs = loop0 + n * d + o.startSec * 1000;
        const endMs = loop0 + n * d + o.endSec * 1000;
        if (endMs > fromMs && startMs < toMs) out.push({ startMs, endMs, label: o.label });
      }
    }
    return out.sort((a, b) => a.startMs - b.startMs);
  }
}
