import { redact, redactText } from './redact.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: Level;
  /** 'json' for machines (one object a line), 'text' for people. */
  format?: 'json' | 'text';
  write?: (line: string) => void;
  bindings?: Record<string, unknown>;
}

/**
 * A small structured logger. Every message and field passes through redact():
 * no log line can carry a camera password, token or key.
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const envLevel = process.env['CAMCONNECT_LOG_LEVEL'] as Level | undefined;
  const level = opts.level ?? (envLevel && envLevel in ORDER ? envLevel : 'info');
  const format = opts.format ?? (process.env['CAMCONNECT_LOG_FORMAT'] === 'json' ? 'json' : 'text');
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const bindings = opts.bindings ?? {};

  const emit = (lvl: Level, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[lvl] < ORDER[level]) return;
    const safe = redact({ ...bindings, ...fields });
    if (format === 'json') {
      write(JSON.stringify({ t: new Date().toISOString(), level: lvl, msg: redactText(msg), ...safe }));
    } else {
      const extra = Object.entries(safe)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      write(`${new Date().toISOString()} ${lvl.padEnd(5)} ${redactText(msg)}${extra ? ' ' + extra : ''}`);
    }
  };

  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (b) => createLogger({ level, format, write, bindings: { ...bindings, ...b } }),
  };
}

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
