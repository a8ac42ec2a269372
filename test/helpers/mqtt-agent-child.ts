/**
 * A link in its own process, for tests that must kill the agent for real
 * (SIGKILL: no DISCONNECT, no chance to say goodbye). Usage:
 *   node --import tsx test/helpers/mqtt-agent-child.ts <url> <agentId> <outboxDir>
 * Prints "up" once connected, and "tick N" from a stand-in recorder timer.
 */
import { systemClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { createLink } from '../../agent/link/index.js';

const [url, agentId, dir] = process.argv.slice(2);
if (!url || !agentId || !dir) {
  process.stderr.write('usage: mqtt-agent-child <url> <agentId> <outboxDir>\n');
  process.exit(2);
}
const link = createLink(
  {
    agentId,
    url,
    outbox: { dir },
    reconnect: { initialMs: 100, maxMs: 1_000, factor: 2, floorMs: 20 },
    keepaliveS: 5,
  },
  { clock: systemClock, log: silentLogger, agentVersion: '0.0.0-test', startedAt: Date.now() },
);
await link.start(AbortSignal.timeout(30_000));
await link.whenUp();
process.stdout.write('up\n');
let n = 0;
setInterval(() => process.stdout.write(`tick ${++n}\n`), 100);
