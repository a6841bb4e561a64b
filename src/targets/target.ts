// Moved to src/core/target.ts (the Target port belongs to core); kept while other branches still import it here.
export type * from '../core/target.js';
