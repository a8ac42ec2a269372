/**
 * The setup page's static files (plain browser ES modules, not compiled by tsc), served from
 * agent/setup/static next to this module, or from the source tree when running from dist/.
 * Nothing comes from a CDN: the appliance's LAN may have no internet, and a page that controls
 * cameras should run only code the box itself ships.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const candidates = [path.join(here, 'static'), path.resolve(here, '../../../agent/setup/static')];
const STATIC_DIR = candidates.find((d) => existsSync(path.join(d, 'index.html'))) ?? candidates[0] ?? here;

const JS = 'text/javascript; charset=utf-8';
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
  '/app.js': { file: 'app.js', type: JS },
  '/panels.js': { file: 'panels.js', type: JS },
  '/map.js': { file: 'map.js', type: JS },
  '/zones.js': { file: 'zones.js', type: JS },
  '/live.js': { file: 'live.js', type: JS },
};

/**
 * Everything from this origin only, no inline script; blob: media for the MSE player. The page
 * itself is public (it shows a lock screen); the data behind it needs the session.
 */
export const CSP =
  "default-src 'self'; img-src 'self' blob:; media-src 'self' blob:; connect-src 'self'; " +
  "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export async function serveStatic(
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
    'referrer-policy': 'no-referrer',
  });
  res.end(body);
  return true;
}
