/**
 * The setup page's static files (plain browser ES modules, not compiled by tsc), served from
 * agent/setup/static next to this module, or from the source tree when running from dist/.
 * Nothing comes from a CDN: the appliance's LAN may have no internet, and a page that controls
 * cameras should run only code the box itself ships.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { staticFiles } from '../../lib/static-files.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Everything from this origin only, no inline script; blob: media for the MSE player. The page
 * itself is public (it shows a lock screen); the data behind it needs the session.
 */
export const CSP =
  "default-src 'self'; img-src 'self' blob:; media-src 'self' blob:; connect-src 'self'; " +
  "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export const serveStatic = staticFiles({
  dirs: [path.join(here, 'static'), path.resolve(here, '../../../agent/setup/static')],
  files: ['index.html', 'app.css', 'app.js', 'panels.js', 'map.js', 'zones.js', 'live.js'],
  csp: CSP,
});
