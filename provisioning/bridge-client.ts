/**
 * HTTP calls to the bridge for provisioning and enrollment, with errors a technician can act
 * on: "cannot reach the bridge" (network), "the bridge refused: <its problem detail>" (RFC 7807
 * problem document), or "the bridge answered something unexpected" (schema mismatch).
 *
 * The operator API token travels only in the Authorization header; the enrollment token and
 * the MQTT password only in bodies. None of them appears in an error message.
 */
import type { z } from 'zod';
import { EnrollmentError } from './errors.js';
import {
  ENROLL_PATH,
  EnrollResponse,
  EnrollmentTokenResponse,
  RevokeResponse,
  RtccKeyResponse,
  TOKENS_PATH,
  revokePath,
  type EnrollRequest,
  type EnrollmentTokenRequest,
} from './api.js';

export interface CallOptions {
  /** Default 30 s: a bridge that accepts the connection and never answers is "unreachable". */
  timeoutMs?: number;
  apiToken?: string;
}

function endpoint(base: string, p: string): URL {
  const u = new URL(base);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}${p}`;
  return u;
}

function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if ((err as Error).name === 'TimeoutError') return 'no answer in time';
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

async function call<S extends z.ZodType>(
  base: string,
  method: 'GET' | 'POST',
  p: string,
  schema: S,
  body: unknown,
  opts: CallOptions,
): Promise<z.infer<S>> {
  let res: Response;
  try {
    res = await fetch(endpoint(base, p), {
      method,
      headers: {
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(opts.apiToken ? { authorization: `Bearer ${opts.apiToken}` } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      redirect: 'error',
      signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
    });
  } catch (err) {
    throw new EnrollmentError(
      'bridge-unreachable',
      `cannot reach the bridge at ${base}: ${networkReason(err)}`,
    );
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    json = undefined;
  }
  if (!res.ok) {
    const problem = (json ?? {}) as { type?: unknown; detail?: unknown };
    const kind =
      typeof problem.type === 'string'
        ? problem.type.replace(/^urn:camconnect:problem:/, '')
        : `http-${res.status}`;
    const detail = typeof problem.detail === 'string' ? problem.detail : `${res.status} ${res.statusText}`;
    throw new EnrollmentError('bridge-refused', `the bridge refused (${res.status}): ${detail}`, kind);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new EnrollmentError(
      'bridge-refused',
      `the bridge at ${base} answered ${method} ${p} with something unexpected (is it a CamConnect bridge of this version?)`,
      'unexpected-answer',
    );
  }
  return parsed.data;
}

/** The bridge's public signing key (the RTCC key): verifies QR payloads and incident requests. */
export function fetchBridgeKey(base: string, opts: CallOptions = {}) {
  return call(base, 'GET', '/api/rtcc-key', RtccKeyResponse, undefined, opts);
}

export function requestEnrollmentToken(base: string, req: EnrollmentTokenRequest, opts: CallOptions) {
  return call(base, 'POST', TOKENS_PATH, EnrollmentTokenResponse, req, opts);
}

export function enrollDevice(base: string, req: EnrollRequest, opts: CallOptions = {}) {
  return call(base, 'POST', ENROLL_PATH, EnrollResponse, req, opts);
}

export function revokeDevice(base: string, agentId: string, opts: CallOptions) {
  return call(base, 'POST', revokePath(agentId), RevokeResponse, {}, opts);
}
