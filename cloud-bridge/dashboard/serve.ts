/**
 * Serves the dashboard's static files (HTML, JS, CSS) from cloud-bridge/dashboard/static. No CDN,
 * no external fonts or map tiles: the RTCC network may have no internet, so everything the
 * page needs comes from the bridge. The files are plain browser JS (not compiled by tsc), found
 * next to this module in the source tree or, when running from dist/, in the source tree
 * the package ships beside it.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const candidates = [path.join(here, 'static'), path.resolve(here, '../../../cloud-bridge/dashboard/static')];
const STATIC_DIR = candidates.find((d) => existsSync(path.join(d, 'index.html'))) ?? candidates[0] ?? here;

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/map.js': { file: 'map.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

/**
 * A strict Content-Security-Policy: scripts, styles and media only from the bridge; images
 * also from a configured tile server (any https origin). No inline script.
 */
const CSP =
  "default-src 'self'; img-src 'self' data: blob: https:; media-src 'self' blob:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'";

export async function serveDashboard(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
): Promise<boolean> {
  const entry = FILES[pathname];
  if (!entry) return false;
  const body = await readFile(path.join(STATIC_DIR, entry.file));
  res.writeHead(200, {
    'content-type': entry.type,
    'content-length': body.length,
    'cache-control': 'no-cache',
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}
