import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Announces the servers used, creates the database, and fails the run if it left keys or tables.
    globalSetup: ['test/global-setup.ts'],
    // Store tests talk to real servers and child processes; generous but bounded.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // No retries: they would hide exactly the races the suites exist to find.
    retry: 0,
    // Type tests augment SessionData, which would retype every other file in one program: they get their own.
    typecheck: {
      enabled: true,
      include: ['test/**/*.test-d.ts'],
      tsconfig: 'test/tsconfig.types.json',
    },
  },
});
