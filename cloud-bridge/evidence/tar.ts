/**
 * A minimal streaming tar writer (POSIX ustar, IEEE Std 1003.1-2017 "pax" format) for evidence
 * downloads: any `tar` reads it, and files stream from the store without being buffered.
 * Paths longer than ustar's 100-byte name field get a pax extended header (`path=`).
 */
import type { Readable, Writable } from 'node:stream';

export interface TarEntry {
  name: string;
  size: number;
  mtimeMs: number;
  open(): Readable;
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, size: number, mtimeMs: number, type: '0' | 'x'): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write(octal(0o644, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(Math.floor(mtimeMs / 1000), 12), 136);
  h.write('        ', 148); // checksum field counts as spaces while summing
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148);
  return h;
}

function pad(size: number): Buffer {
  const rest = size % 512;
  return Buffer.alloc(rest === 0 ? 0 : 512 - rest);
}

/** A pax record "LEN key=value\n", where LEN counts the whole record including itself. */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len)
    len = String(len).length + Buffer.byteLength(body);
  return Buffer.from(`${len}${body}`, 'utf8');
}

async function write(out: Writable, chunk: Buffer): Promise<void> {
  if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', resolve));
}

export async function writeTar(out: Writable, entries: readonly TarEntry[]): Promise<void> {
  for (const e of entries) {
    if (Buffer.byteLength(e.name) > 100) {
      const pax = paxRecord('path', e.name);
      await write(out, header('PaxHeader', pax.length, e.mtimeMs, 'x'));
      await write(out, Buffer.concat([pax, pad(pax.length)]));
    }
    await write(out, header(e.name, e.size, e.mtimeMs, '0'));
    let written = 0;
    for await (const chunk of e.open()) {
      written += (chunk as Buffer).length;
      await write(out, chunk as Buffer);
    }
    if (written !== e.size) throw new Error(`${e.name} changed size while being archived`);
    await write(out, pad(e.size));
  }
  // End of archive: two zero blocks.
  await write(out, Buffer.alloc(1024));
}
