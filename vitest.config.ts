import { defineConfig } from 'vitest/config';

// Two projects: everything once (native addon used when built), and the tests whose behaviour depends
// on the native addon again under PICOTCP_NO_NATIVE=1 (see package.json "test").
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'all',
          include: ['test/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'native-sensitive',
          include: ['test/checksum/**/*.test.ts', 'test/pool/**/*.test.ts', 'test/native/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
    ],
  },
});
