/**
 * An incident test agent in its own process, so a test can kill it for real (SIGKILL: no
 * cleanup, no goodbye) mid-upload and start it again on the same folders.
 *   node --import tsx test/helpers/incident-agent-child.ts CONFIG.json
 * Prints "up" when started, then one JSON line per incident event; stops cleanly on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { startTestAgent, type TestAgentConfig } from './incident-agent.js';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: incident-agent-child CONFIG.json\n');
  process.exit(2);
}
const cfg = JSON.parse(readFileSync(file, 'utf8')) as TestAgentConfig;
const agent = await startTestAgent(cfg);
let shown = 0;
const timer = setInterval(() => {
  for (; shown < agent.events.length; shown++)
    process.stdout.write(JSON.stringify(agent.events[shown]) + '\n');
}, 50);
process.stdout.write('up\n');
process.once('SIGTERM', () => {
  clearInterval(timer);
  void agent.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`stop failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
});
