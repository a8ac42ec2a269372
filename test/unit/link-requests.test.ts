import { describe, expect, test } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { makeRequest } from '../../protocol/envelope.js';
import type { ReplyPayload } from '../../protocol/schemas/replies.js';
import { RequestRouter, type RequestHandlers } from '../../agent/link/requests.js';

const limits = { maxBytes: 4096, perSecond: 5, burst: 10, errorRepliesPerSecond: 5, errorBurst: 20 };

function router(handlers: RequestHandlers = {}, over: Partial<typeof limits> = {}) {
  const clock = new ManualClock(1_700_000_000_000, 0);
  const sent: ReplyPayload[] = [];
  const r = new RequestRouter(
    handlers,
    { ...limits, ...over },
    (reply) => (sent.push(reply), Promise.resolve()),
    clock,
    silentLogger,
  );
  return { r, sent, clock };
}
const ping = () => Buffer.from(JSON.stringify(makeRequest<'ping'>({ type: 'ping' }, { now: 1 })));
const errorCode = (p: ReplyPayload | undefined) => (p?.type === 'error' ? p.code : p?.type);

describe('request router', () => {
  test('ping is answered with ack, quoting the request id', async () => {
    const { r, sent } = router();
    const req = ping();
    await r.receive(req);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      type: 'ack',
      requestId: (JSON.parse(req.toString()) as { requestId: string }).requestId,
      seq: 0,
    });
  });

  test.each([
    ['not JSON', Buffer.from('{nope'), 'invalid'],
    ['not UTF-8', Buffer.from([0xff, 0xfe, 0x7b]), 'invalid'],
    ['JSON of the wrong shape', Buffer.from('{"v":1,"type":"ping"}'), 'invalid'],
    [
      'an unknown type',
      Buffer.from(JSON.stringify({ v: 1, ts: 1, requestId: crypto.randomUUID(), type: 'format-disk' })),
      'unsupported',
    ],
    [
      'a newer schema version',
      Buffer.from(JSON.stringify({ v: 2, ts: 1, requestId: crypto.randomUUID(), type: 'ping' })),
      'unsupported',
    ],
    ['too large', Buffer.alloc(10_000, 0x20), 'too-large'],
    ['an empty payload', Buffer.alloc(0), 'invalid'],
  ])('%s gets an error reply', async (_what, bytes, code) => {
    const { r, sent } = router();
    await r.receive(bytes);
    expect(sent.map(errorCode)).toEqual([code]);
  });

  test('a known type without a handler is unsupported; a throwing handler is internal, redacted', async () => {
    const cancel = Buffer.from(
      JSON.stringify(
        makeRequest<'cancel-incident'>(
          { type: 'cancel-incident', incidentId: crypto.randomUUID() },
          { now: 1 },
        ),
      ),
    );
    const a = router();
    await a.r.receive(cancel);
    expect(a.sent.map(errorCode)).toEqual(['unsupported']);
    const b = router({
      'cancel-incident': () => {
        throw new Error('cannot reach rtsp://admin:hunter2@10.0.0.5/stream');
      },
    });
    await b.r.receive(cancel);
    expect(b.sent.map(errorCode)).toEqual(['internal']);
    expect(JSON.stringify(b.sent)).not.toContain('hunter2');
  });

  test('handlers reply as often as they like, seq counting up', async () => {
    const { r, sent } = router({
      ping: async (_req, ctx) => {
        await ctx.reply<'ack'>({ type: 'ack', detail: 'one' });
        await ctx.reply<'ack'>({ type: 'ack', detail: 'two' });
      },
    });
    await r.receive(ping());
    expect(sent.map((s) => s.seq)).toEqual([0, 1]);
  });

  test('a flood is answered busy within the error budget, then dropped and counted; service resumes', async () => {
    const { r, sent, clock } = router();
    for (let i = 0; i < 1_000; i++) await r.receive(ping());
    const codes = sent.map(errorCode);
    expect(codes.filter((c) => c === 'ack')).toHaveLength(10); // the burst
    expect(codes.filter((c) => c === 'busy')).toHaveLength(20); // the error budget
    expect(r.stats()).toMatchObject({ received: 1_000, handled: 10, droppedSilently: 970 });
    clock.advance(10_000);
    sent.length = 0;
    await r.receive(ping());
    expect(sent.map(errorCode)).toEqual(['ack']);
  });
});
