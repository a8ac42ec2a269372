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
  return redactUrl(text)
    .replace(/((?:pass(?:word)?|secret|token|authorization)\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,&;]+)/gi, '$1***')
    .replace(/(Digest\s+|Basic\s+|Bearer\s+)[^\s,]+(,\s*[a-z]+="[^"]*")*/gi, '$1***');
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
