/**
 * A small router over node:http: exact method + path patterns with `:params`, a role check per
 * route, JSON bodies with a size limit, and problem-details errors. The API surface is a dozen
 * routes; a framework would add a dependency and hide what happens to each request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticate, type Principal, type Role } from './auth.js';
import { HttpError } from './problem.js';
import type { Queryable } from '../db/db.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
  /** Set for routes that require a role. */
  principal: Principal | undefined;
  /** Parses the JSON body (application/json, at most maxBodyBytes). */
  json(): Promise<unknown>;
}

export interface Route {
  method: Method;
  /** e.g. `/api/incidents/:id`; a param matches one path segment. */
  path: string;
  /** Roles allowed, or 'public'. */
  auth: readonly Role[] | 'public';
  handler(ctx: RouteContext): void | Promise<void>;
}

interface Compiled extends Route {
  re: RegExp;
  names: string[];
}

export interface Matched {
  route: Route;
  params: Record<string, string>;
}

export class Router {
  private readonly routes: Compiled[] = [];

  constructor(private readonly maxBodyBytes = 64 * 1024) {}

  add(route: Route): this {
    const names: string[] = [];
    const re = new RegExp(
      '^' +
        route.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:([a-zA-Z]+)/g, (_m, n: string) => {
          names.push(n);
          return '([^/]+)';
        }) +
        '$',
    );
    this.routes.push({ ...route, re, names });
    return this;
  }

  /** The route for this request, a 405 when the path exists with another method, or null. */
  match(method: string, pathname: string): Matched | null {
    let pathSeen = false;
    for (const r of this.routes) {
      const m = r.re.exec(pathname);
      if (!m) continue;
      pathSeen = true;
      if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) continue;
      const params: Record<string, string> = {};
      r.names.forEach((n, i) => {
        params[n] = decodeURIComponent(m[i + 1] ?? '');
      });
      return { route: r, params };
    }
    if (pathSeen) throw new HttpError(405, 'method-not-allowed', `${method} is not supported on ${pathname}`);
    return null;
  }

  async run(
    matched: Matched,
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    db: Queryable,
  ): Promise<Principal | undefined> {
    const { route, params } = matched;
    let principal: Principal | undefined;
    if (route.auth !== 'public') {
      principal = await authenticate(db, req);
      if (!route.auth.includes(principal.role)) {
        throw new HttpError(403, 'forbidden', `role ${principal.role} may not ${route.method} ${route.path}`);
      }
    }
    const json = () => readJson(req, this.maxBodyBytes);
    await route.handler({ req, res, url, params, principal, json });
    return principal;
  }
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new HttpError(415, 'unsupported-media-type', 'the body must be application/json');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) throw new HttpError(413, 'body-too-large', `the body exceeds ${limit} bytes`);
    chunks.push(buf);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, 'malformed-json', `the body is not valid JSON: ${(err as Error).message}`);
  }
}
