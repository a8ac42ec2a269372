/**
 * Serves a page's fixed set of static files (plain browser ES modules, HTML, CSS) for the
 * bridge's dashboard and the agent's setup page. Only the listed names are served (no path
 * from the request ever reaches the filesystem), with a strict Content-Security-Policy, no
 * sniffing and no referrer. Nothing comes from a CDN: neither network may reach the internet.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

export interface StaticFilesOptions {
  /** Folders to look in, first one holding index.html wins (beside the module, or the source tree from dist/). */
  dirs: string[];
  /** File names served at `/NAME`; `index.html` is also served at `/`. */
  files: string[];
  csp: string;
}

export type ServeStatic = (req: IncomingMessage, res: ServerResponse, pathname: string) => Promise<boolean>;

export function staticFiles(opts: StaticFilesOptions): ServeStatic {
  const dir = opts.dirs.find((d) => existsSync(path.join(d, 'index.html'))) ?? opts.dirs[0] ?? '.';
  const routes = new Map<string, string>(opts.files.map((f) => [`/${f}`, f]));
  if (routes.has('/index.html')) routes.set('/', 'index.html');
  return async (req, res, pathname) => {
    const file = routes.get(pathname);
    if (!file) return false;
    const body = await readFile(path.join(dir, file));
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-length': body.length,
      'cache-control': 'no-cache',
      'content-security-policy': opts.csp,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}
