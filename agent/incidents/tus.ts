/**
 * A tus 1.0.0 client (https://tus.io/protocols/resumable-upload) over node:http(s), for the
 * bridge's evidence receiver (cloud-bridge/evidence/receiver.ts):
 *
 * - create: POST {base}/uploads with Upload-Length and Upload-Metadata (creation extension);
 *   201 with Location. Metadata values are base64 (core §Upload-Metadata).
 * - offset: HEAD {upload} → Upload-Offset, what the server has stored (core §HEAD): the only
 *   source of truth after a cut, so confirmed bytes are never sent twice.
 * - append: PATCH {upload} with Upload-Offset, Content-Type application/offset+octet-stream
 *   (core §PATCH); 204 with the new Upload-Offset; 409 when our offset is not the server's.
 *
 * Authentication: the bridge accepts an upload only when its metadata names the request id it
 * sent this device for this incident (a random UUID delivered only on the device's own
 * `requests` topic), and stores nothing unless the device key signed a manifest listing the
 * file (cloud-bridge/evidence/packages.ts). There is no bearer token to leak or log.
 *
 * Uploads are addressed by their id, resolved against the current bridge URL, so a job
 * persisted before a restart keeps working if the bridge's address or proxy changes.
 */
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const TUS_VERSION = '1.0.0';
export const UPLOADS_PATH = '/uploads';

/** The bridge refused (4xx with its code), or the upload is gone: not fixed by retrying. */
export class TusRefusal extends Error {
  override name = 'TusRefusal';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The network failed or the server had a transient problem: retry after a pause. */
export class TusTransient extends Error {
  override name = 'TusTransient';
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export function encodeMetadata(meta: Readonly<Record<string, string>>): string {
  return Object.entries(meta)
    .map(([k, v]) => `${k} ${Buffer.from(v, 'utf8').toString('base64')}`)
    .join(',');
}

export class TusClient {
  private readonly agent: http.Agent;
  private readonly base: URL;

  constructor(
    baseUrl: string,
    private readonly idleTimeoutMs: number,
    maxSockets: number,
  ) {
    this.base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    const Agent = this.base.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  uploadUrl(id: string): URL {
    return new URL(`.${UPLOADS_PATH}/${encodeURIComponent(id)}`, this.base);
  }

  /** Creates an upload; returns its id. */
  async create(
    length: number,
    meta: Readonly<Record<string, string>>,
    signal?: AbortSignal,
  ): Promise<string> {
    const res = await this.call(
      'POST',
      new URL(`.${UPLOADS_PATH}`, this.base),
      { 'Upload-Length': String(length), 'Upload-Metadata': encodeMetadata(meta) },
      undefined,
      signal,
    );
    if (res.status !== 201) throw this.failure('create', res);
    const location = res.headers.location;
    if (!location) throw new TusTransient('tus create: 201 without a Location header');
    const id = new URL(location, this.base).pathname.split('/').pop();
    if (!id) throw new TusTransient(`tus create: unusable Location ${location}`);
    return decodeURIComponent(id);
  }

  /** The offset the server has stored for an upload. */
  async offset(id: string, signal?: AbortSignal): Promise<number> {
    const res = await this.call('HEAD', this.uploadUrl(id), {}, undefined, signal);
    if (res.status !== 200 && res.status !== 204) throw this.failure('HEAD', res);
    const offset = Number(res.headers['upload-offset']);
    if (!Number.isSafeInteger(offset) || offset < 0)
      throw new TusTransient('tus HEAD: no valid Upload-Offset');
    return offset;
  }

  /** Appends `length` bytes from `body` at `offset`; returns the server's new offset. */
  async append(
    id: string,
    offset: number,
    body: AsyncIterable<Buffer>,
    length: number,
    signal?: AbortSignal,
  ): Promise<number> {
    const res = await this.call(
      'PATCH',
      this.uploadUrl(id),
      {
        'Upload-Offset': String(offset),
        'Content-Type': 'application/offset+octet-stream',
        'Content-Length': String(length),
      },
      body,
      signal,
    );
    if (res.status !== 204) throw this.failure('PATCH', res);
    const next = Number(res.headers['upload-offset']);
    if (!Number.isSafeInteger(next)) throw new TusTransient('tus PATCH: no valid Upload-Offset');
    return next;
  }

  close(): void {
    this.agent.destroy();
  }

  private failure(what: string, res: Answer): Error {
    let code = `http-${res.status}`;
    let detail = res.text.trim().slice(0, 300);
    try {
      const j = JSON.parse(res.text) as { code?: unknown; detail?: unknown };
      if (typeof j.code === 'string') code = j.code;
      if (typeof j.detail === 'string') detail = j.detail;
    } catch {
      // tus's own errors are plain text ("Upload-Offset conflict"): the text is the detail.
      if (res.status === 409) code = 'offset-conflict';
      if (res.status === 404 || res.status === 410) code = 'upload-gone';
    }
    const message = `tus ${what} answered ${res.status} ${code}${detail ? `: ${detail}` : ''}`;
    // 423 Locked (another request still holds the upload), 429 and 5xx pass with time.
    if (res.status >= 500 || res.status === 423 || res.status === 429) return new TusTransient(message);
    return new TusRefusal(res.status, code, message);
  }

  private call(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: AsyncIterable<Buffer> | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Answer> {
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise<Answer>((resolve, reject) => {
      const req = mod.request(url, {
        method,
        agent: this.agent,
        headers: { 'Tus-Resumable': TUS_VERSION, ...(body ? {} : { 'Content-Length': '0' }), ...headers },
        timeout: this.idleTimeoutMs,
        signal,
      });
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        req.destroy();
        reject(
          signal?.aborted ? (signal.reason as Error) : new TusTransient(`tus ${method}: ${err.message}`),
        );
      };
      req.on('timeout', () => fail(new Error(`no progress for ${this.idleTimeoutMs} ms`)));
      req.on('error', fail);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < 8192) chunks.push(c);
          size += c.length;
        });
        res.on('error', fail);
        res.on('end', () => {
          if (settled) return;
          settled = true;
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          });
        });
      });
      if (!body) {
        req.end();
        return;
      }
      // A server that answers before reading the whole body (a refusal) ends the pipeline early.
      const source = body instanceof Readable ? body : Readable.from(body);
      pipeline(source, req).catch((err: unknown) => fail(err as Error));
    });
  }
}
