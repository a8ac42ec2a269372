/**
 * The camera state file: inventory plus credentials, one JSON document, mode 0600.
 *
 * Written atomically: a temp file in the same directory is created with mode 0600 from the
 * first byte (O_CREAT|O_EXCL with the mode, so there is no moment when it is world-readable, as
 * there would be with write-then-chmod), written, fsynced, renamed over the old file, and the
 * directory is fsynced so the rename survives a power cut. A reader sees the old document or
 * the new one, never half of one. An existing file with looser permissions is tightened on load.
 *
 * Not lowdb: its writer creates files with the process umask (usually 0644), and the whole
 * point of this file is that other local users cannot read camera passwords.
 */
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../../lib/durable.js';
import { CameraRecord, StateFile, type Location, type MotionSettings } from './inventory.js';

export class CameraStore {
  private cameras: CameraRecord[] = [];
  private loaded = false;
  /** Writes run one after another, in call order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  /** Reads the file (a missing file is an empty inventory). Invalid content is an error, not a reset. */
  async load(): Promise<void> {
    let raw: string;
    try {
      raw = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.cameras = [];
      this.loaded = true;
      return;
    }
    const st = await stat(this.file);
    if ((st.mode & 0o077) !== 0) await chmod(this.file, 0o600);
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (err) {
      throw new Error(`camera state file ${this.file} is not valid JSON: ${(err as Error).message}`);
    }
    const parsed = StateFile.safeParse(json);
    if (!parsed.success) {
      // The message names fields, never values: a password must not end up in an error.
      const where = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      throw new Error(`camera state file ${this.file} is invalid: ${where}`);
    }
    this.cameras = parsed.data.cameras;
    this.loaded = true;
  }

  private ensureLoaded(): void {
    if (!this.loaded) throw new Error('CameraStore: load() first');
  }

  list(): CameraRecord[] {
    this.ensureLoaded();
    return this.cameras.map((c) => structuredClone(c));
  }

  get(id: string): CameraRecord | undefined {
    this.ensureLoaded();
    const c = this.cameras.find((x) => x.id === id);
    return c ? structuredClone(c) : undefined;
  }

  ids(): Set<string> {
    return new Set(this.cameras.map((c) => c.id));
  }

  /** Adds or replaces a camera (by id) and saves. */
  async upsert(record: CameraRecord): Promise<void> {
    this.ensureLoaded();
    const valid = CameraRecord.parse(record);
    const i = this.cameras.findIndex((c) => c.id === valid.id);
    if (i >= 0) this.cameras[i] = valid;
    else this.cameras.push(valid);
    await this.save();
  }

  async remove(id: string): Promise<boolean> {
    this.ensureLoaded();
    const before = this.cameras.length;
    this.cameras = this.cameras.filter((c) => c.id !== id);
    if (this.cameras.length === before) return false;
    await this.save();
    return true;
  }

  async setLocation(id: string, location: Location | null): Promise<void> {
    await this.update(id, (c) => ({ ...c, location }));
  }

  async setMotion(id: string, motion: MotionSettings): Promise<void> {
    await this.update(id, (c) => ({ ...c, motion }));
  }

  async setCredentials(
    id: string,
    credentials: { username: string; password: string } | undefined,
  ): Promise<void> {
    await this.update(id, (c) => {
      const next = { ...c };
      if (credentials) next.credentials = credentials;
      else delete next.credentials;
      return next;
    });
  }

  private async update(id: string, fn: (c: CameraRecord) => CameraRecord): Promise<void> {
    this.ensureLoaded();
    const c = this.cameras.find((x) => x.id === id);
    if (!c) throw new Error(`no camera with id "${id}"`);
    await this.upsert(fn(structuredClone(c)));
  }

  private save(): Promise<void> {
    const doc: StateFile = { version: 1, cameras: this.cameras };
    const text = JSON.stringify(doc, null, 2) + '\n';
    const run = this.queue.then(() => writeAtomic(this.file, text));
    // The next write waits for this one whether it worked or not; the caller sees the error.
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** Atomic replace with mode 0600 (see the file comment; lib/durable.ts). */
export async function writeAtomic(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, text, { mode: 0o600 });
}
