/**
 * Runs once before all test files. Later: pre-encodes the simulator's scenes
 * so parallel test files never race to encode them.
 */
export default async function setup(): Promise<void> {
  // Filled in by the simulator (scene cache warm-up).
}
