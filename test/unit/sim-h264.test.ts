import { describe, expect, it } from 'vitest';
import {
  groupAccessUnits,
  NAL,
  nalType,
  parseH264,
  parseSps,
  splitAnnexB,
  unescapeRbsp,
} from '../../simulator/h264.js';

// SPS/PPS as libx264 wrote them for the two stream profiles (note the 00 00 03 emulation-prevention bytes).
const SPS_720 = Buffer.from('674d401fda014016ec0440000003004000000783c60ca8', 'hex');
const SPS_360 = Buffer.from('674d4016da0280bfe5c044000003000400000300783c58ba80', 'hex');
const PPS = Buffer.from('68ef3c80', 'hex');

const sc4 = Buffer.from([0, 0, 0, 1]);
const sc3 = Buffer.from([0, 0, 1]);
/** A slice NAL: type, then a first byte whose top bit set means first_mb_in_slice == 0. */
const slice = (type: number, firstMbZero = true, len = 10): Buffer =>
  Buffer.concat([Buffer.from([0x60 | type, firstMbZero ? 0x88 : 0x08]), Buffer.alloc(len, 0x55)]);

describe('Annex-B splitting', () => {
  it('splits at 3- and 4-byte start codes and trims trailing zeros', () => {
    const a = slice(NAL.IDR);
    const b = slice(NAL.SLICE);
    const data = Buffer.concat([sc4, SPS_720, sc3, PPS, Buffer.from([0, 0]), sc4, a, sc3, b]);
    const nals = splitAnnexB(data);
    expect(nals.map(nalType)).toEqual([NAL.SPS, NAL.PPS, NAL.IDR, NAL.SLICE]);
    expect(nals[1]).toEqual(PPS);
    expect(nals[2]).toEqual(a);
  });

  it('returns nothing for data without a start code', () => {
    expect(splitAnnexB(Buffer.from([1, 2, 3, 4]))).toEqual([]);
  });
});

describe('access units', () => {
  it('groups parameter sets with the following IDR and starts a new unit at each first slice', () => {
    const nals = [
      SPS_720,
      PPS,
      slice(NAL.IDR),
      slice(NAL.SLICE),
      slice(NAL.SLICE),
      SPS_720,
      PPS,
      slice(NAL.IDR),
    ];
    const aus = groupAccessUnits(nals);
    expect(aus.map((a) => a.nals.length)).toEqual([3, 1, 1, 3]);
    expect(aus.map((a) => a.keyframe)).toEqual([true, false, false, true]);
  });

  it('keeps the later slices of a multi-slice picture in one unit', () => {
    const aus = groupAccessUnits([
      slice(NAL.IDR),
      slice(NAL.IDR, false),
      slice(NAL.SLICE),
      slice(NAL.SLICE, false),
    ]);
    expect(aus.map((a) => a.nals.length)).toEqual([2, 2]);
  });

  it('parseH264 requires the stream to open with SPS, PPS and an IDR', () => {
    const ok = Buffer.concat([sc4, SPS_720, sc4, PPS, sc4, slice(NAL.IDR), sc4, slice(NAL.SLICE)]);
    const parsed = parseH264(ok);
    expect(parsed.accessUnits).toHaveLength(2);
    expect(parsed.info.profileLevelId).toBe('4d401f');
    expect(() => parseH264(Buffer.concat([sc4, slice(NAL.SLICE)]))).toThrow(/must start/);
  });
});

describe('SPS', () => {
  it('removes emulation-prevention bytes', () => {
    expect(unescapeRbsp(Buffer.from('0000030100000300', 'hex'))).toEqual(Buffer.from('000001000000', 'hex'));
  });

  it('reads profile, level and picture size of the 720p main stream', () => {
    const info = parseSps(SPS_720);
    expect(info).toMatchObject({
      profileIdc: 77,
      levelIdc: 31,
      profileLevelId: '4d401f',
      width: 1280,
      height: 720,
    });
  });

  it('applies frame cropping for 360p (23 macroblock rows, 8 lines cropped)', () => {
    expect(parseSps(SPS_360)).toMatchObject({ profileLevelId: '4d4016', width: 640, height: 360 });
  });

  it('rejects a non-SPS NAL', () => {
    expect(() => parseSps(PPS)).toThrow(/not an SPS/);
  });
});
