import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: files run in two forks; each test file starts its own sandbox on free ports.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
