import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globals: false,
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Integration files each start their own nats-server; two cores: keep the fan-out small.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
