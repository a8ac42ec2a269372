/**
 * QR round trips through real image files: the payload is rendered with `qrcode` (PNG, SVG),
 * turned into pictures with ffmpeg (SVG rasterised, photo-like JPEGs), and read back with the
 * agent's decoder (ffmpeg to RGBA, jsQR). Plus the images that must fail clearly.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import QRCode from 'qrcode';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair } from '../../protocol/signing.js';
import { decodePayload, encodePayload, verifyPayload } from '../../provisioning/payload.js';
import { decodeQrFile, decodeQrImage, qrInfo, terminalQr, writeQrFile } from '../../provisioning/qr.js';
import { EnrollmentError } from '../../provisioning/errors.js';
import { photoLike, sceneSnapshot, svgToPng } from '../helpers/qr-images.js';
import { tempDir } from '../helpers/qr-enrollment.js';

const bridge = generateSigningKeyPair();
const payload = encodePayload(
  {
    bridgeUrl: 'https://rtcc.springfield.gov',
    token: randomBytes(16).toString('base64url'),
    site: 'Maple Court Apartments',
    lat: 39.7817213,
    lon: -89.6501481,
    policy: 'approve',
    expiresAt: Math.floor(Date.now() / 1000 + 86_400) * 1000,
  },
  bridge.privateKey,
);
let dir: string;

async function failure(p: Promise<unknown>): Promise<EnrollmentError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(EnrollmentError);
    return err as EnrollmentError;
  }
  throw new Error('expected decoding to fail');
}

beforeAll(() => {
  dir = tempDir('ccqr-');
});

describe('enrollment QR codes as images', () => {
  it('round-trips through a PNG file, and the payload still verifies', async () => {
    const file = path.join(dir, 'qr.png');
    await writeQrFile(file, payload);
    const text = await decodeQrFile(file);
    expect(text).toBe(payload);
    expect(verifyPayload(decodePayload(text), bridge.publicKey)).toBe(true);
    expect(qrInfo(payload)).toMatchObject({ version: 10, ecc: 'M' });
    expect(await terminalQr(payload)).toMatch(/[█▀▄]/);
  });

  it('round-trips through an SVG file, read directly and rasterised to PNG', async () => {
    const svg = path.join(dir, 'qr.svg');
    await writeQrFile(svg, payload);
    expect(await readFile(svg, 'utf8')).toMatch(/^<svg/);
    expect(await decodeQrFile(svg)).toBe(payload);
    const png = path.join(dir, 'qr-from-svg.png');
    await svgToPng(svg, png);
    expect(await decodeQrFile(png)).toBe(payload);
  });

  it('reads a photo-like picture: scaled, rotated, noisy, blurred, on a scene, lossy JPEG', async () => {
    const png = path.join(dir, 'label.png');
    await writeQrFile(png, payload);
    const photos: [string, Parameters<typeof photoLike>[2]][] = [
      ['tilted-right.jpg', { width: 300, angleDeg: 7 }],
      ['tilted-left-small.jpg', { width: 260, angleDeg: -4, x: 200, y: 300, noise: 28 }],
    ];
    for (const [name, opts] of photos) {
      const jpg = path.join(dir, name);
      await photoLike(png, jpg, opts);
      expect((await readFile(jpg)).subarray(0, 2).toString('hex'), name).toBe('ffd8'); // a JPEG
      expect(await decodeQrFile(jpg), name).toBe(payload);
    }
  });

  it('reads inverted colours (a phone in dark mode)', async () => {
    const png = path.join(dir, 'dark.png');
    await writeFile(
      png,
      await QRCode.toBuffer(payload, {
        errorCorrectionLevel: 'M',
        scale: 6,
        color: { dark: '#ffffffff', light: '#000000ff' },
      }),
    );
    expect(await decodeQrFile(png)).toBe(payload);
  });

  it('says clearly when an image holds no QR code, is not an image, or is missing', async () => {
    expect((await failure(decodeQrFile(await sceneSnapshot()))).message).toMatch(/no QR code could be read/);
    const notes = path.join(dir, 'notes.txt');
    await writeFile(notes, 'site: Maple Court\n');
    const notImage = await failure(decodeQrFile(notes));
    expect(notImage.code).toBe('unreadable-image');
    expect(notImage.message).toMatch(/could not be read/);
    expect((await failure(decodeQrImage(Buffer.alloc(0)))).message).toMatch(/empty/);
    expect((await failure(decodeQrFile(path.join(dir, 'nope.png')))).message).toMatch(/ENOENT/);
  });

  it('decodes a foreign QR code to text that the payload parser refuses', async () => {
    const png = path.join(dir, 'wifi.png');
    await QRCode.toFile(png, 'WIFI:S:lobby;T:WPA;P:correct-horse;;');
    const text = await decodeQrFile(png);
    let code = '';
    try {
      decodePayload(text);
    } catch (err) {
      code = (err as EnrollmentError).code;
    }
    expect(code).toBe('not-camconnect');
  });
});
