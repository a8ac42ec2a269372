/**
 * Scenes used only by tests. The loop scene is two seconds long, so any
 * recording of more than 30 frames crosses at least one loop point.
 */
import type { SceneSpec } from '../../simulator/scenes.js';

export const LOOP_TEST_SCENE: SceneSpec = {
  name: 'test-loop',
  description: 'Two-second loop with one object, for loop-point tests.',
  durationSec: 2,
  background: 'street',
  noise: 2,
  objects: [
    {
      label: 'ball',
      startSec: 0.4,
      endSec: 1.6,
      from: { x: 0.1, y: 0.5 },
      to: { x: 0.8, y: 0.5 },
      w: 0.1,
      h: 0.1,
      color: '0xd04010',
    },
  ],
  brightness: [],
};
