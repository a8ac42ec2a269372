/**
 * A small tus 1.0.0 client over fetch, for tests: POST to create (Upload-Length,
 * Upload-Metadata), PATCH with Upload-Offset and application/offset+octet-stream to append,
 * HEAD to learn the offset after an interruption (tus 1.0.0 core protocol, creation extension).
 */
const TUS = { 'Tus-Resumable': '1.0.0' };

export interface TusResult {
  status: number;
  body: string;
}

export function encodeMetadata(meta: Record<string, string>): string {
  return Object.entries(meta)
    .map(([k, v]) => `${k} ${Buffer.from(v, 'utf8').toString('base64')}`)
    .join(',');
}

/** Creates an upload; returns its absolute URL, or the refusal. */
export async function tusCreate(
  base: string,
  size: number,
  meta: Record<string, string>,
): Promise<{ ok: true; location: string } | { ok: false; status: number; body: string }> {
  const res = await fetch(`${base}/uploads`, {
    method: 'POST',
    headers: { ...TUS, 'Upload-Length': String(size), 'Upload-Metadata': encodeMetadata(meta) },
  });
  const body = await res.text();
  if (res.status !== 201) return { ok: false, status: res.status, body };
  const location = res.headers.get('location');
  if (!location) throw new Error('tus create: no Location header');
  return { ok: true, location: new URL(location, base).href };
}

export async function tusHead(location: string): Promise<number> {
  const res = await fetch(location, { method: 'HEAD', headers: TUS });
  if (res.status !== 200 && res.status !== 204) throw new Error(`tus HEAD: ${res.status}`);
  return Number(res.headers.get('upload-offset'));
}

export async function tusPatch(
  location: string,
  offset: number,
  chunk: Uint8Array,
): Promise<TusResult & { offset: number }> {
  const res = await fetch(location, {
    method: 'PATCH',
    headers: { ...TUS, 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' },
    body: chunk,
  });
  return {
    status: res.status,
    body: await res.text(),
    offset: Number(res.headers.get('upload-offset') ?? offset),
  };
}

/**
 * Sends body from the server's current offset in chunks. `stopAfterChunks` simulates a cut
 * link: the upload stops early and a later call resumes from HEAD's offset.
 */
export async function tusSend(
  location: string,
  body: Uint8Array,
  chunkSize = 64 * 1024,
  stopAfterChunks = Infinity,
): Promise<TusResult & { offset: number }> {
  let offset = await tusHead(location);
  let last: TusResult & { offset: number } = { status: 204, body: '', offset };
  let sent = 0;
  while (offset < body.length && sent < stopAfterChunks) {
    last = await tusPatch(location, offset, body.subarray(offset, offset + chunkSize));
    if (last.status !== 204) return last;
    offset = last.offset;
    sent++;
  }
  return { ...last, offset };
}
