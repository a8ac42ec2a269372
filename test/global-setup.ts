/**
 * Runs once before all test files: pre-encodes the simulator's scenes (and the
 * test-only loop scene) into the shared cache, so parallel test files never
 * race to encode them and no test pays for an encode inside its own timeout.
 */
import { ensureAllScenes, ensureScene } from '../simulator/encode.js';
import type { EncodeProgress } from '../simulator/encode.js';
import { LOOP_TEST_SCENE } from './helpers/sim-scenes.js';

export default async function setup(): Promise<void> {
  const onProgress = (p: EncodeProgress): void => {
    if (p.phase !== 'encoding') process.stderr.write(`[global-setup] scene ${p.scene}: ${p.phase}\n`);
  };
  await ensureAllScenes({ onProgress });
  await ensureScene(LOOP_TEST_SCENE, { onProgress });
}
