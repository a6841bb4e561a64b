// Moved to src/core/api-fs-types.ts: probe vocabulary belongs to core (the Target port names it).
export type * from '../../core/api-fs-types.js';
