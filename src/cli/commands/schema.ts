import { reportSchema } from '../../report/schema.js';
import { summarySchema } from '../../report/summary-schema.js';
import { fixSchema } from '../../report/fix-schema.js';
import type { CliIo } from '../io.js';

/** `ctr-doctor schema [summary|fix]`: the JSON Schema of the report, of `summary --json`, or of `fix --json`. */
export function runSchemaCommand(which: 'report' | 'summary' | 'fix', io: CliIo): number {
  const schema = which === 'summary' ? summarySchema : which === 'fix' ? fixSchema : reportSchema;
  io.out.write(JSON.stringify(schema, null, 2) + '\n');
  return 0;
}
