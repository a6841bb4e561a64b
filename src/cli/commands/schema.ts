import { reportSchema } from '../../report/schema.js';
import { summarySchema } from '../../report/summary-schema.js';
import type { CliIo } from '../io.js';

/** `ctr-doctor schema [summary]`: the JSON Schema of the report, or of `summary --json`. */
export function runSchemaCommand(which: 'report' | 'summary', io: CliIo): number {
  io.out.write(JSON.stringify(which === 'summary' ? summarySchema : reportSchema, null, 2) + '\n');
  return 0;
}
