/**
 * Every way enrollment can fail, as one error type with a stable code, so the CLI can print a
 * sentence a technician can act on and tests can assert the reason. Messages never contain the
 * token, a password or a private key: they name what was wrong, not the secret it was wrong about.
 */
export type EnrollmentErrorCode =
  /** The text or QR is not a CamConnect enrollment code at all (another app's QR, a URL). */
  | 'not-camconnect'
  /** It claims to be one, but the bytes do not parse (truncated, damaged, wrong version). */
  | 'malformed'
  /** The payload's expiry has passed (checked on the device, then again by the bridge). */
  | 'expired'
  /** The signature does not verify with the bridge's key: altered, or made by another bridge. */
  | 'bad-signature'
  /** The QR names a bridge other than the one this device was told to trust. */
  | 'wrong-bridge'
  /** The bridge URL is plain http to a non-loopback host (token and password would travel in clear). */
  | 'insecure-bridge'
  | 'bridge-unreachable'
  /** The bridge answered with an error (token used, expired, unknown, or a server problem). */
  | 'bridge-refused'
  /** The image could not be read, or holds no QR code that decodes. */
  | 'unreadable-image'
  | 'camera'
  /** This device is already enrolled; re-enrolling needs --force. */
  | 'already-enrolled'
  | 'state';

export class EnrollmentError extends Error {
  constructor(
    readonly code: EnrollmentErrorCode,
    message: string,
    /** For bridge-refused: the problem type from the bridge, e.g. `token-used`. */
    readonly reason?: string,
  ) {
    super(message);
    this.name = 'EnrollmentError';
  }
}
