import type { Config } from 'jest';

// One config for every workspace. Tests import TypeScript source through the
// "@deepconf-safety/source" export condition, so nothing needs building first.
const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/deploy', '<rootDir>/bench', '<rootDir>/scripts'],
  testMatch: ['**/test/**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }],
  },
  testEnvironmentOptions: { customExportConditions: ['@deepconf-safety/source', 'node', 'node-addons'] },
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
  reporters: ['default', '<rootDir>/scripts/count-reporter.cjs'],
  // One fast-check seed for every property test (FC_SEED overrides it), printed on failure.
  setupFilesAfterEnv: ['<rootDir>/jest.setup.ts'],
  testTimeout: 30_000,
};

export default config;
