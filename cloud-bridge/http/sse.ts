/**
 * Live incident progress as server-sent events (HTML Living Standard §9.2): the stream sends
 * the incident's full state whenever it changes. The state is read from the database, not from
 * this instance's memory, so a dashboard attached to one bridge instance sees replies and
 * uploads that another instance ingested. A comment line every 15 s keeps proxies from closing
 * an idle stream.
 */
import type { Queryable } from '../db/db.js';
import { getIncidentView } from '../incidents/view.js';
import { HttpError } from './problem.js';
import type { RouteContext } from './router.js';

const POLL_MS = 500;
const KEEPALIVE_MS = 15_000;

export async function streamIncident(
  ctx: RouteContext,
  db: Queryable,
  id: string,
  closing: AbortSignal,
): Promise<void> {
  const first = await getIncidentView(db, id);
  if (!first) throw new HttpError(404, 'not-found', 'no such incident');
  const { req, res } = ctx;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let last = '';
  let lastWrite = Date.now();
  const send = (data: string) => {
    res.write(`event: incident\ndata: ${data}\n\n`);
    last = data;
    lastWrite = Date.now();
  };
  send(JSON.stringify(first));
  const done = new Promise<void>((resolve) => {
    req.once('close', resolve);
    closing.addEventListener('abort', () => resolve(), { once: true });
  });
  let open = true;
  void done.then(() => {
    open = false;
  });
  while (open) {
    await Promise.race([done, new Promise((r) => setTimeout(r, POLL_MS))]);
    if (!open) break;
    const view = await getIncidentView(db, id);
    const data = JSON.stringify(view);
    if (data !== last) send(data);
    else if (Date.now() - lastWrite > KEEPALIVE_MS) {
      res.write(': keep-alive\n\n');
      lastWrite = Date.now();
    }
  }
  res.end();
}
