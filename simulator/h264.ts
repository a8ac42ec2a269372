/**
 * Just enough H.264 (ITU-T H.264 / ISO 14496-10) bitstream handling to serve
 * a pre-encoded Annex-B file over RTP: split it into NAL units, group those
 * into access units (one per frame), and read the SPS for the SDP
 * (profile-level-id, RFC 6184 §8.1) and for sanity checks (width, height).
 *
 * Nothing here decodes slices: the server never looks inside a picture.
 */

/** NAL unit types used here (H.264 Table 7-1). */
export const NAL = {
  SLICE: 1,
  IDR: 5,
  SEI: 6,
  SPS: 7,
  PPS: 8,
  AUD: 9,
  FU_A: 28,
} as const;

/** A NAL unit without its start code: byte 0 is the NAL header. */
export type NalUnit = Buffer;

export function nalType(nal: NalUnit): number {
  return (nal[0] ?? 0) & 0x1f;
}

export interface AccessUnit {
  nals: NalUnit[];
  /** Contains an IDR slice: a decoder can start here. */
  keyframe: boolean;
}

/**
 * Splits an Annex-B byte stream (B.2) at 3- and 4-byte start codes. Trailing
 * zero bytes before a start code belong to the next start code (B.2:
 * trailing_zero_8bits), so they are trimmed from the previous NAL.
 */
export function splitAnnexB(data: Buffer): NalUnit[] {
  const starts: { at: number; len: number }[] = [];
  for (let i = 0; i + 2 < data.length; i++) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      starts.push({ at: i, len: 3 });
      i += 2;
    }
  }
  const nals: NalUnit[] = [];
  for (let k = 0; k < starts.length; k++) {
    const begin = starts[k]!.at + starts[k]!.len;
    let end = k + 1 < starts.length ? starts[k + 1]!.at : data.length;
    while (end > begin && data[end - 1] === 0) end--;
    if (end > begin) nals.push(data.subarray(begin, end));
  }
  return nals;
}

function isVcl(type: number): boolean {
  return type >= 1 && type <= 5;
}

/**
 * Groups NAL units into access units (H.264 §7.4.1.2.3): an AUD, SPS, PPS or
 * SEI after a picture's slices, or a slice with first_mb_in_slice == 0 after
 * one, starts a new access unit. first_mb_in_slice is the first ue(v) of the
 * slice header; it is 0 exactly when the first bit after the NAL header is 1.
 */
export function groupAccessUnits(nals: readonly NalUnit[]): AccessUnit[] {
  const out: AccessUnit[] = [];
  let cur: NalUnit[] = [];
  let seenVcl = false;
  const flush = (): void => {
    if (cur.length > 0 && seenVcl) out.push({ nals: cur, keyframe: cur.some((n) => nalType(n) === NAL.IDR) });
    else if (cur.length > 0 && out.length > 0) out[out.length - 1]!.nals.push(...cur); // trailing non-VCL
    cur = [];
    seenVcl = false;
  };
  for (const nal of nals) {
    const t = nalType(nal);
    const startsPicture = isVcl(t) && ((nal[1] ?? 0) & 0x80) !== 0;
    const startsPrefix =
      t === NAL.AUD || t === NAL.SPS || t === NAL.PPS || t === NAL.SEI || (t >= 14 && t <= 18);
    if (seenVcl && (startsPrefix || startsPicture)) flush();
    cur.push(nal);
    if (isVcl(t)) seenVcl = true;
  }
  if (cur.length > 0 && seenVcl) out.push({ nals: cur, keyframe: cur.some((n) => nalType(n) === NAL.IDR) });
  return out;
}

/** Removes emulation-prevention bytes (00 00 03 -> 00 00, §7.4.1) to get the RBSP. */
export function unescapeRbsp(nal: Buffer): Buffer {
  const out = Buffer.alloc(nal.length);
  let n = 0;
  let zeros = 0;
  for (const b of nal) {
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    out[n++] = b;
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, n);
}

/** Exp-Golomb bit reader (§9.1). */
class BitReader {
  private bit = 0;
  constructor(private readonly buf: Buffer) {}
  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.buf[this.bit >> 3];
      if (byte === undefined) throw new Error('SPS truncated');
      v = v * 2 + ((byte >> (7 - (this.bit & 7))) & 1);
      this.bit++;
    }
    return v;
  }
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) {
      if (++zeros > 31) throw new Error('SPS: bad exp-Golomb code');
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -k / 2;
  }
}

export interface SpsInfo {
  profileIdc: number;
  constraintFlags: number;
  levelIdc: number;
  /** RFC 6184 §8.1: the 3 bytes after the NAL header, as 6 hex digits. */
  profileLevelId: string;
  width: number;
  height: number;
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** Parses a sequence parameter set (§7.3.2.1.1) far enough for the picture size. */
export function parseSps(nal: NalUnit): SpsInfo {
  if (nalType(nal) !== NAL.SPS) throw new Error(`not an SPS (NAL type ${nalType(nal)})`);
  const r = new BitReader(unescapeRbsp(nal.subarray(1)));
  const profileIdc = r.u(8);
  const constraintFlags = r.u(8);
  const levelIdc = r.u(8);
  r.ue(); // seq_parameter_set_id
  let chromaFormatIdc = 1;
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = r.ue();
    if (chromaFormatIdc === 3) r.u(1); // separate_colour_plane_flag
    r.ue(); // bit_depth_luma_minus8
    r.ue(); // bit_depth_chroma_minus8
    r.u(1); // qpprime_y_zero_transform_bypass_flag
    if (r.u(1) === 1) {
      for (let i = 0; i < (chromaFormatIdc === 3 ? 12 : 8); i++) {
        if (r.u(1) === 1) skipScalingList(r, i < 6 ? 16 : 64);
      }
    }
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) {
    r.ue();
  } else if (pocType === 1) {
    r.u(1);
    r.se();
    r.se();
    const n = r.ue();
    for (let i = 0; i < n; i++) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.u(1); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.ue() + 1;
  const heightMapUnits = r.ue() + 1;
  const frameMbsOnly = r.u(1);
  if (frameMbsOnly === 0) r.u(1); // mb_adaptive_frame_field_flag
  r.u(1); // direct_8x8_inference_flag
  let crop = { l: 0, r: 0, t: 0, b: 0 };
  if (r.u(1) === 1) crop = { l: r.ue(), r: r.ue(), t: r.ue(), b: r.ue() };
  // Crop units (§7.4.2.1.1, Table 6-1): 4:2:0 crops in 2-pixel steps horizontally and vertically.
  const cropX = chromaFormatIdc === 0 || chromaFormatIdc === 3 ? 1 : 2;
  const cropY = (chromaFormatIdc === 1 ? 2 : 1) * (2 - frameMbsOnly);
  const width = widthMbs * 16 - cropX * (crop.l + crop.r);
  const height = (2 - frameMbsOnly) * heightMapUnits * 16 - cropY * (crop.t + crop.b);
  const hex = (v: number): string => v.toString(16).padStart(2, '0');
  return {
    profileIdc,
    constraintFlags,
    levelIdc,
    profileLevelId: hex(profileIdc) + hex(constraintFlags) + hex(levelIdc),
    width,
    height,
  };
}

export interface ParsedH264 {
  accessUnits: AccessUnit[];
  sps: NalUnit;
  pps: NalUnit;
  info: SpsInfo;
}

/** Parses a whole Annex-B file. The first access unit must be a keyframe carrying SPS and PPS. */
export function parseH264(data: Buffer): ParsedH264 {
  const accessUnits = groupAccessUnits(splitAnnexB(data));
  const first = accessUnits[0];
  if (!first) throw new Error('no access units in H.264 stream');
  const sps = first.nals.find((n) => nalType(n) === NAL.SPS);
  const pps = first.nals.find((n) => nalType(n) === NAL.PPS);
  if (!first.keyframe || !sps || !pps)
    throw new Error('H.264 stream must start with SPS, PPS and an IDR picture');
  return { accessUnits, sps, pps, info: parseSps(sps) };
}
