import { describe, expect, it } from 'vitest';
import { redact, redactText, redactUrl } from '../../lib/redact.js';
import { createLogger } from '../../lib/log.js';

describe('redaction', () => {
  it('hides the password in any scheme URL and keeps the rest', () => {
    expect(redactUrl('rtsp://admin:s3cr3t@10.0.0.5:554/Streaming/101')).toBe(
      'rtsp://admin:***@10.0.0.5:554/Streaming/101',
    );
    expect(redactUrl('mqtts://dev-1:p%40ss@broker:8883')).toBe('mqtts://dev-1:***@broker:8883');
    expect(redactUrl('rtsp://10.0.0.5/live')).toBe('rtsp://10.0.0.5/live');
  });

  it('hides key=value secrets and Authorization headers in free text', () => {
    const t = redactText(
      'connect failed password=hunter2 token: abc.def Authorization: Digest username="a", response="ff00"',
    );
    expect(t).not.toMatch(/hunter2|abc\.def|ff00/);
  });

  it('replaces secret-looking fields deeply, including inside arrays and errors', () => {
    const out = redact({
      camera: { url: 'rtsp://u:pw@h/x', password: 'pw', nested: [{ apiKey: 'k' }] },
      err: new Error('rtsp://u:pw@h failed'),
    });
    expect(JSON.stringify(out)).not.toContain('pw@');
    expect(out.camera.password).toBe('***');
    expect((out.camera.nested[0] as { apiKey: string }).apiKey).toBe('***');
    expect(out.err.message).toBe('rtsp://u:***@h failed');
  });

  it('the logger never writes a secret, whatever the caller passes', () => {
    const lines: string[] = [];
    const log = createLogger({ format: 'json', write: (l) => lines.push(l) });
    log.error('cannot open rtsp://admin:topsecret@cam/1', {
      password: 'topsecret',
      url: 'rtsp://admin:topsecret@cam/1',
    });
    log.child({ token: 'topsecret' }).info('x');
    expect(lines.join('\n')).not.toContain('topsecret');
    expect(lines).toHaveLength(2);
  });
});

describe('redaction keeps prose readable', () => {
  it('does not mangle words that merely name an auth scheme', () => {
    expect(redactText('RTSP auth mode: Basic auth enabled')).toBe('RTSP auth mode: Basic auth enabled');
    expect(redactText('sent Basic dXNlcjpwYXNz to camera')).toBe('sent Basic *** to camera');
    expect(redactText('header Digest username="u", nonce="n", response="r"')).toBe('header Digest ***');
  });
});
