export { IrohInstrumentation, type IrohInstrumentationConfig } from './iroh-instrumentation.js';
export type { IrohPathChange } from './connections.js';
export type { PathKind } from './iroh-types.js';
export { classifyIrohError, abnormalCloseType, irohErrorMessage, alpnLabel } from './iroh-errors.js';
export { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';
