import { defineConfig } from 'vitest/config';

// Integration tests spawn real ffmpeg, GStreamer, brokers and databases on a
// shared 2-core machine: generous timeouts, and no timing assertions anywhere.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 2,
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default'],
  },
});
