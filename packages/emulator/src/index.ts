export { startEmulator, EMULATOR_NAME, EMULATOR_VERSION } from './server.js';
export type { EmulatorHandle, EmulatorStats } from './server.js';
export type { EmulatorOptions, FaultOptions, FaultHook, FaultContext } from './options.js';
export { EmulatorError, EmulatorOptionError, EmulatorListenError, isEmulatorError } from './errors.js';
export { assessHarm } from './harm.js';
export type { HarmAssessment } from './harm.js';
export { planTrace } from './safety-model.js';
export type { TracePlan, PlanInput } from './safety-model.js';
export { tokenize, countTokens } from './tokenizer.js';
