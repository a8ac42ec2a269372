/**
 * Serves the dashboard's static files (HTML, JS, CSS) from cloud-bridge/dashboard/static. No CDN,
 * no external fonts or map tiles: the RTCC network may have no internet, so everything the
 * page needs comes from the bridge. The files are plain browser JS (not compiled by tsc), found
 * next to this module in the source tree or, when running from dist/, in the source tree
 * the package ships beside it.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { staticFiles } from '../../lib/static-files.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * A strict Content-Security-Policy: scripts, styles and media only from the bridge; images
 * also from a configured tile server (any https origin). No inline script.
 */
const CSP =
  "default-src 'self'; img-src 'self' data: blob: https:; media-src 'self' blob:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'";

export const serveDashboard = staticFiles({
  dirs: [path.join(here, 'static'), path.resolve(here, '../../../cloud-bridge/dashboard/static')],
  files: ['index.html', 'app.js', 'map.js', 'app.css'],
  csp: CSP,
});
