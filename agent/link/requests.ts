/**
 * Inbound `requests`: every message is hostile until the protocol schema says
 * otherwise. Too large, not JSON, invalid, unknown type, over the rate limit,
 * or a handler that throws: each gets an `error` reply, and none of them can
 * crash the agent or starve the recorder of CPU.
 *
 * Order of checks (cheapest first): rate limit, then size (codec refuses
 * before parsing), then JSON and schema. Error replies have their own budget:
 * a flood gets `busy` answers until that budget is spent, then is dropped and
 * counted, so it cannot fill the outbox (replies are never evicted) either.
 */
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import { decode } from '../../protocol/codec.js';
import { errorReply, makeReply } from '../../protocol/envelope.js';
import type { ReplyBody } from '../../protocol/envelope.js';
import type { ErrorCode, ReplyPayload, ReplyType } from '../../protocol/schemas/replies.js';
import type { RequestOf, RequestPayload, RequestType } from '../../protocol/schemas/requests.js';
import { TokenBucket } from './rate-limit.js';

/** Lets a handler answer, as many times as it likes; `seq` counts up from 0. */
export interface ReplyContext {
  reply<T extends ReplyType>(body: ReplyBody<T>): Promise<void>;
}

export type RequestHandler<T extends RequestType> = (
  request: RequestOf<T>,
  ctx: ReplyContext,
) => Promise<void> | void;
/** Handlers by request type; a type without one is answered `unsupported`. `ping` is built in. */
export type RequestHandlers = { [T in RequestType]?: RequestHandler<T> };

export interface RequestLimits {
  maxBytes: number;
  perSecond: number;
  burst: number;
  errorRepliesPerSecond: number;
  errorBurst: number;
}

export interface RequestStats {
  received: number;
  handled: number;
  errors: Partial<Record<ErrorCode, number>>;
  /** Rejected with no reply because the error-reply budget was spent. */
  droppedSilently: number;
}

export class RequestRouter {
  private readonly accept: TokenBucket;
  private readonly errorBudget: TokenBucket;
  private readonly counters: RequestStats = { received: 0, handled: 0, errors: {}, droppedSilently: 0 };

  constructor(
    private readonly handlers: RequestHandlers,
    private readonly limits: RequestLimits,
    private readonly send: (reply: ReplyPayload) => Promise<void>,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.accept = new TokenBucket(limits.perSecond, limits.burst, clock);
    this.errorBudget = new TokenBucket(limits.errorRepliesPerSecond, limits.errorBurst, clock);
  }

  stats(): RequestStats {
    return { ...this.counters, errors: { ...this.counters.errors } };
  }

  /** Called for each message on our `requests` topic. Never throws, never rejects. */
  async receive(bytes: Buffer): Promise<void> {
    this.counters.received++;
    try {
      await this.route(bytes);
    } catch (err) {
      // Only the reply path can get here (outbox write failed): nothing more to tell the bridge.
      this.log.error('could not answer a request', { err: String(err) });
    }
  }

  private async route(bytes: Buffer): Promise<void> {
    if (!this.accept.take()) {
      return this.fail(null, 'busy', 'too many requests; try again later');
    }
    const decoded = decode('requests', bytes, { maxBytes: this.limits.maxBytes });
    if (!decoded.ok) {
      const { code, message, requestId } = decoded.error;
      return this.fail(requestId, code, message);
    }
    const request = decoded.value;
    let seq = 0;
    const ctx: ReplyContext = {
      reply: (body) => this.send(makeReply(request.requestId, body, { now: this.clock.now(), seq: seq++ })),
    };
    try {
      if (request.type === 'ping' && !this.handlers.ping) {
        await ctx.reply<'ack'>({ type: 'ack', detail: 'pong' });
      } else {
        // Indexed by the request's own type, so the handler takes exactly this request.
        const handler = this.handlers[request.type] as
          ((r: RequestPayload, c: ReplyContext) => Promise<void> | void) | undefined;
        if (!handler)
          return await this.fail(request.requestId, 'unsupported', `no handler for ${request.type}`, seq);
        await handler(request, ctx);
      }
      this.counters.handled++;
    } catch (err) {
      this.log.error('request handler failed', { type: request.type, err: String(err) });
      await this.fail(request.requestId, 'internal', err instanceof Error ? err.message : String(err), seq);
    }
  }

  private async fail(requestId: string | null, code: ErrorCode, message: string, seq = 0): Promise<void> {
    this.counters.errors[code] = (this.counters.errors[code] ?? 0) + 1;
    if (!this.errorBudget.take()) {
      this.counters.droppedSilently++;
      return;
    }
    this.log.warn('request refused', { code, requestId });
    await this.send(errorReply(requestId, code, message, { now: this.clock.now(), seq }));
  }
}
