/**
 * QR codes for enrollment payloads: rendering (PNG, SVG, terminal) with `qrcode`, and reading
 * them back from any image with ffmpeg + jsQR.
 *
 * Reading: ffmpeg (already on every appliance for recording) turns whatever image it is given
 * (PNG, JPEG, SVG through librsvg, a camera snapshot) into raw RGBA (`-f rawvideo -pix_fmt
 * rgba`), and jsQR looks for a symbol in those pixels. No image-format code of our own, no
 * native image library. The frame size comes from ffmpeg's description of its output stream and
 * is checked against the byte count, so a misparse cannot feed jsQR a skewed image.
 */
import { spawn } from 'node:child_process';
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import jsQRModule from 'jsqr';
import QRCode from 'qrcode';
import { ffmpegPath } from '../lib/ffmpeg.js';
import { EnrollmentError } from './errors.js';

/** ISO/IEC 18004 level M (~15% of codewords recoverable): see payload.ts for the choice. */
export const QR_ECC = 'M' as const;
/** Largest image accepted for decoding: a camera snapshot is well under this. */
const MAX_IMAGE_BYTES = 32 * 1024 * 1024;
/** Decoding works on at most this width; a 4K snapshot is scaled down first (jsQR cost is per pixel). */
const MAX_DECODE_WIDTH = 1920;

type JsQr = (
  data: Uint8ClampedArray,
  width: number,
  height: number,
  opts?: { inversionAttempts?: 'dontInvert' | 'onlyInvert' | 'attemptBoth' | 'invertFirst' },
) => { data: string } | null;
// jsqr is a webpack UMD bundle: under Node's ESM loader the default import is module.exports,
// which is the function in some builds and `{ default: fn }` in others.
const jsQR: JsQr = ((jsQRModule as unknown as { default?: JsQr }).default ?? jsQRModule) as JsQr;

export interface QrInfo {
  /** QR version 1-40: the symbol is 17 + 4 x version modules wide. */
  version: number;
  ecc: typeof QR_ECC;
  modules: number;
  /** Characters of payload text. */
  chars: number;
}

export function qrInfo(text: string): QrInfo {
  const qr = QRCode.create(text, { errorCorrectionLevel: QR_ECC });
  return { version: qr.version, ecc: QR_ECC, modules: qr.modules.size, chars: text.length };
}

/** Writes a PNG or SVG (by extension). PNG at 8 px a module with the 4-module quiet zone ISO/IEC 18004 §6.3.8 requires. */
export async function writeQrFile(file: string, text: string): Promise<void> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.svg') {
    await writeFile(
      file,
      await QRCode.toString(text, { type: 'svg', errorCorrectionLevel: QR_ECC, margin: 4 }),
      { mode: 0o600 },
    );
  } else if (ext === '.png') {
    await writeFile(
      file,
      await QRCode.toBuffer(text, { type: 'png', errorCorrectionLevel: QR_ECC, margin: 4, scale: 8 }),
      { mode: 0o600 },
    );
  } else {
    throw new RangeError(`--out must end in .png or .svg, got "${path.basename(file)}"`);
  }
}

/** The QR drawn with block characters, for the technician's terminal. */
export function terminalQr(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'terminal', small: true, errorCorrectionLevel: QR_ECC });
}

interface Rgba {
  data: Buffer;
  width: number;
  height: number;
}

/**
 * Image bytes go to ffmpeg on stdin; a file is named by path instead, with the `file:`
 * protocol so that a name with a colon is not taken for a URL. (An SVG must come as a file:
 * on a pipe, ffmpeg's svg_pipe demuxer cannot size an SVG that has only a viewBox, which is
 * what `qrcode` writes.)
 */
type Source = { bytes: Buffer } | { file: string };

/** Runs ffmpeg on the image and returns its first frame as RGBA pixels. */
function toRgba(src: Source, filter: string, signal?: AbortSignal): Promise<Rgba> {
  return new Promise((resolve, reject) => {
    const args = [
      '-hide_banner',
      '-nostdin',
      '-i',
      'file' in src ? `file:${path.resolve(src.file)}` : 'pipe:0',
      '-frames:v',
      '1',
      '-vf',
      filter,
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgba',
      'pipe:1',
    ];
    const child = spawn(ffmpegPath(), args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(signal ? { signal } : {}),
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      err = (err + c).slice(-20_000);
    });
    // ffmpeg may stop reading early (it has the frame); EPIPE on stdin is expected then.
    child.stdin.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') reject(e);
    });
    child.stdin.end('bytes' in src ? src.bytes : undefined);
    child.on('error', reject);
    child.on('close', (code) => {
      const data = Buffer.concat(out);
      const m = /Output #0[\s\S]*?Stream #\d+:\d+[^\n]*?, (\d+)x(\d+)[,\s[]/.exec(err);
      const width = Number(m?.[1]);
      const height = Number(m?.[2]);
      if (code !== 0 || !m || data.length === 0) {
        const why =
          /Invalid data found|could not find codec|Error while decoding|No such file/i.exec(err)?.[0] ??
          `ffmpeg exited ${code}`;
        reject(
          new EnrollmentError(
            'unreadable-image',
            `the image could not be read (${why}); use a PNG, JPEG or SVG`,
          ),
        );
      } else if (data.length !== width * height * 4) {
        reject(
          new EnrollmentError(
            'unreadable-image',
            `the image decoded to ${data.length} bytes, not ${width}x${height} RGBA`,
          ),
        );
      } else resolve({ data, width, height });
    });
  });
}

const find = (f: Rgba) =>
  jsQR(new Uint8ClampedArray(f.data.buffer, f.data.byteOffset, f.data.length), f.width, f.height, {
    inversionAttempts: 'attemptBoth',
  })?.data;

/**
 * Image variants to retry with when the picture as taken does not decode. jsQR binarises with
 * a local threshold and looks for finder patterns at one scale; a noisy or blurred photo that
 * fails as is often decodes sharpened, smoothed, or at another size. Small images (an SVG
 * rasterises at 1 px a module) are enlarged without smoothing. Measured on photo-like test
 * pictures (test/integration/provisioning-qr.test.ts): each of these rescues some of them.
 */
function variants(width: number): string[] {
  if (width < 480) return [`scale=${width * 4}:-2:flags=neighbor`];
  return [
    'unsharp=5:5:1.0',
    `scale=${Math.round(width * 0.75)}:-2:flags=area`,
    'gblur=sigma=1',
    ...(width <= 1280 ? [`scale=${Math.round(width * 1.5)}:-2:flags=bicubic`] : []),
    `scale=${Math.round(width / 2)}:-2:flags=area`,
  ];
}

/**
 * Finds and decodes the QR code in an image, trying the image as it is (at most 1920 px wide)
 * and then the variants above, each with normal and inverted colours (a phone in dark mode
 * shows light modules on dark). Returns the QR's text.
 */
export function decodeQrImage(image: Buffer, signal?: AbortSignal): Promise<string> {
  return decode({ bytes: image }, image.length, signal);
}

async function decode(src: Source, size: number, signal?: AbortSignal): Promise<string> {
  if (size === 0) throw new EnrollmentError('unreadable-image', 'the image is empty');
  if (size > MAX_IMAGE_BYTES)
    throw new EnrollmentError('unreadable-image', `the image is larger than ${MAX_IMAGE_BYTES >> 20} MiB`);
  const fit = `scale=w='min(${MAX_DECODE_WIDTH},iw)':h=-2`;
  const first = await toRgba(src, fit, signal);
  let text = find(first);
  for (const v of variants(first.width)) {
    if (text) break;
    text = find(await toRgba(src, `${fit},${v}`, signal));
  }
  if (text) return text;
  throw new EnrollmentError(
    'unreadable-image',
    'no QR code could be read in the image (hold the code flat, fill more of the frame, avoid glare)',
  );
}

/** Reads an image file and decodes its QR code. */
export async function decodeQrFile(file: string, signal?: AbortSignal): Promise<string> {
  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOTFILE' });
    size = st.size;
  } catch (err) {
    throw new EnrollmentError(
      'unreadable-image',
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  return decode({ file }, size, signal);
}
