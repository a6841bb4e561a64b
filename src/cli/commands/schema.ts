import { reportSchema } from '../../report/schema.js';
import type { CliIo } from '../io.js';

/** `ctr-doctor schema`: the JSON Schema of the report. */
export function runSchemaCommand(io: CliIo): number {
  io.out.write(JSON.stringify(reportSchema, null, 2) + '\n');
  return 0;
}
