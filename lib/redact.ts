/**
 * Secrets never reach logs, errors or payloads. Everything that formats a
 * URL, an error or an object for output goes through here.
 */
const SECRET_KEY = /pass(word)?|secret|token|authorization|private|credential|^key$|apikey|api_key/i;

/** rtsp://user:pass@host/x -> rtsp://user:***@host/x (any scheme). */
export function redactUrl(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)([^/\s:@]+):([^@\s/]*)@/gi, '$1$2:***@');
}

/** Redacts URLs inside free text and `password=...`-style pairs. */
export function redactText(text: string): string {
  return (
    redactUrl(text)
      // An Authorization header carries its secret in scheme parameters: hide the whole rest of the line.
      .replace(/(authorization\s*[=:]\s*)[^\r\n]*/gi, '$1***')
      .replace(/((?:pass(?:word)?|secret|token)\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,&;]+)/gi, '$1***')
      // Credentials outside a header: Digest parameters, Basic base64, Bearer tokens. Prose such
      // as "Basic auth enabled" does not match these shapes and stays readable.
      .replace(/\bDigest\s+[a-z]+=[^\r\n]*/gi, 'Digest ***')
      .replace(/\bBasic\s+[A-Za-z0-9+/]{6,}={0,2}/g, 'Basic ***')
      .replace(/\bBearer\s+[\w.~+/-]+=*/g, 'Bearer ***')
  );
}

/** Deep copy with secret-looking keys replaced and strings redacted. */
export function redact<T>(value: T, depth = 0): T {
  if (depth > 8) return value;
  if (typeof value === 'string') return redactText(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => redact(v, depth + 1)) as T;
  if (value instanceof Error) {
    const copy = new Error(redactText(value.message));
    copy.name = value.name;
    return copy as T;
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = SECRET_KEY.test(k) && v !== undefined && v !== null && v !== '' ? '***' : redact(v, depth + 1);
    }
    return out as T;
  }
  return value;
}
