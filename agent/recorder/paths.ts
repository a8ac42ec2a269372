/**
 * On-disk layout (one folder per camera; nothing else writes there):
 *
 *   DIR/recorder.lock                       pid of the recorder that owns DIR
 *   DIR/holds.json                          holds (pins), written atomically
 *   DIR/CAM/journal.jsonl                   the segment journal (append-only JSON lines)
 *   DIR/CAM/incoming/RUN-000042.ts          segment ffmpeg is writing now (or left by a crash)
 *   DIR/CAM/YYYY/MM/DD/HH/YYYYMMDDTHHMMSS.mmmZ.ts   finished, indexed segments (UTC)
 *   DIR/CAM/quarantine/...                  files that could not be indexed (kept for a human)
 *   DIR/CAM/ffmpeg.pid                      pid of this camera's ffmpeg, to reap orphans
 *
 * Finished segments are named by their anchored wall-clock start, so a lost
 * journal can be rebuilt from names plus a probe of each file; hour folders
 * keep every folder small (60 files at 60 s segments).
 */
import path from 'node:path';

export const CAMERA_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export interface CameraPaths {
  root: string;
  incoming: string;
  quarantine: string;
  journal: string;
  pidfile: string;
}

export function cameraPaths(dir: string, camera: string): CameraPaths {
  if (!CAMERA_NAME.test(camera)) {
    throw new Error(`invalid camera name "${camera}": use letters, digits, "-" and "_" (max 64)`);
  }
  const root = path.join(path.resolve(dir), camera);
  return {
    root,
    incoming: path.join(root, 'incoming'),
    quarantine: path.join(root, 'quarantine'),
    journal: path.join(root, 'journal.jsonl'),
    pidfile: path.join(root, 'ffmpeg.pid'),
  };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** 'YYYY/MM/DD/HH/YYYYMMDDTHHMMSS.mmmZ.ts' for a wall-clock start (UTC). */
export function segmentRelPath(startMs: number, suffix = ''): string {
  const d = new Date(startMs);
  const [Y, M, D, h, m, s] = [
    d.getUTCFullYear(),
    d.getUTCMonth() + 1,
    d.getUTCDate(),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
  ];
  const name = `${Y}${pad(M)}${pad(D)}T${pad(h)}${pad(m)}${pad(s)}.${pad(d.getUTCMilliseconds(), 3)}Z${suffix}.ts`;
  return `${Y}/${pad(M)}/${pad(D)}/${pad(h)}/${name}`;
}

const NAME_RE = /(?:^|\/)(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z(?:-\d+)?\.ts$/;

/** The wall-clock start encoded in a segment's name, or undefined for a foreign name. */
export function startFromRelPath(rel: string): number | undefined {
  const m = NAME_RE.exec(rel);
  if (!m) return undefined;
  const [Y, M, D, h, mi, s, ms] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const t = Date.UTC(Y, M - 1, D, h, mi, s, ms);
  return Number.isFinite(t) ? t : undefined;
}

/** True for a path under an hour folder (YYYY/MM/DD/HH/...), i.e. an indexed-segment location. */
export function isHourPath(rel: string): boolean {
  return /^\d{4}\/\d{2}\/\d{2}\/\d{2}\/[^/]+\.ts$/.test(rel);
}
