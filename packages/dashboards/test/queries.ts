/** Every query the package ships: see src/queries.ts (kept here for the tests' imports). */
export * from '../src/queries';
