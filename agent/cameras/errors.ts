/**
 * One error type for everything that can go wrong talking to a camera, with the camera's name
 * in the message: an installer with sixteen cameras must know which one is wrong, and what to
 * do about it. Messages are redacted (a URL with credentials never survives into one).
 */
import { redactText } from '../../lib/redact.js';

export type CameraErrorKind =
  /** Wrong user name or password (ter:NotAuthorized, HTTP 401). */
  | 'auth'
  /** The device answered with a SOAP fault. */
  | 'fault'
  /** No answer in time. */
  | 'timeout'
  /** The answer was not well-formed XML, or not the SOAP the operation returns. */
  | 'malformed'
  /** An HTTP error without a SOAP fault (a crashed web server, a proxy). */
  | 'http'
  /** Connection refused, reset, no route. */
  | 'network'
  /** Stopped by the caller. */
  | 'aborted';

export class CameraError extends Error {
  constructor(
    readonly camera: string,
    readonly kind: CameraErrorKind,
    readonly operation: string,
    detail: string,
    readonly status?: number,
    /** SOAP fault subcodes, outermost first (e.g. ter:NotAuthorized). */
    readonly subcodes: string[] = [],
  ) {
    super(redactText(`camera "${camera}": ${operation} failed: ${detail}`));
    this.name = 'CameraError';
  }
}

const HINT: Record<CameraErrorKind, string> = {
  auth: 'check the user name and password configured for this camera',
  fault: 'the camera refused the request',
  timeout: 'the camera did not answer in time; check that it is powered and reachable',
  malformed: 'the camera sent a response that is not valid ONVIF SOAP',
  http: 'the camera web server returned an error',
  network: 'the camera could not be reached',
  aborted: 'stopped',
};

/** A one-line explanation for people (CLI, setup page), next to the technical message. */
export function hintFor(err: unknown): string | undefined {
  return err instanceof CameraError ? HINT[err.kind] : undefined;
}
