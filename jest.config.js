/** One Jest run over every package and the cross-package tests, straight from TypeScript sources. */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/test', '<rootDir>/examples'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  moduleNameMapper: {
    '^@p2p-otel/instrumentation$': '<rootDir>/packages/instrumentation/src/index.ts',
    '^@p2p-otel/sdk$': '<rootDir>/packages/sdk/src/index.ts',
    '^@p2p-otel/instrumentation-iroh$': '<rootDir>/packages/instrumentation-iroh/src/index.ts',
    '^@p2p-otel/sim$': '<rootDir>/packages/sim/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testTimeout: 30000,
};
