/**
 * The JSON Schema (draft 2020-12) of what `fix --json` writes, `schemaVersion` 1. Printed by
 * `ctr-doctor schema fix`. `before` and `after` are reports of the report schema, embedded.
 */
import { reportSchema } from './schema.js';

const REPORT_ID = reportSchema.$id;
const { $schema: _draft, ...embeddedReport } = reportSchema;

/** The fix-run schema. New fields and enum values may be added within version 1; none is removed. */
export const fixSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://ctr-doctor.dev/schema/fix-v1.json',
  title: 'ctr-doctor fix run',
  type: 'object',
  additionalProperties: false,
  required: ['schemaVersion', 'dryRun', 'before', 'plan', 'declined', 'applied', 'after', 'journal', 'exitCode'],
  properties: {
    schemaVersion: { const: 1 },
    dryRun: { type: 'boolean' },
    before: { $ref: REPORT_ID, description: 'the first diagnosis' },
    plan: { type: 'array', items: { $ref: '#/$defs/planned' } },
    declined: { type: 'array', items: { type: 'string' }, description: 'fixes to apply that the user said no to' },
    applied: { type: 'array', items: { $ref: '#/$defs/applied' } },
    after: {
      oneOf: [{ $ref: REPORT_ID }, { type: 'null' }],
      description: 'the touched checks and their dependents run again; null when nothing was applied',
    },
    journal: { type: ['string', 'null'], description: 'the journal entry directory; null when nothing changed' },
    exitCode: { type: 'integer', minimum: 0 },
  },
  $defs: {
    report: embeddedReport,
    planned: {
      type: 'object',
      additionalProperties: false,
      required: ['fixId', 'title', 'safety', 'checkIds', 'action', 'steps'],
      properties: {
        fixId: { type: 'string' },
        title: { type: 'string' },
        safety: { enum: ['safe', 'unsafe', 'manual'] },
        checkIds: { type: 'array', items: { type: 'string' } },
        action: {
          enum: ['apply', 'manual', 'needs-unsafe', 'no-guest', 'skipped'],
          description: 'skipped: another fix to apply changes the same guest path or mount point (see reason, conflictsWith)',
        },
        reason: { type: 'string', description: 'why a skipped fix is left out, in one line' },
        conflictsWith: { type: 'string', description: 'the fix a skipped fix gives way to' },
        steps: { type: 'array', items: { $ref: `${REPORT_ID}#/$defs/step` } },
      },
    },
    applied: {
      type: 'object',
      additionalProperties: false,
      required: ['fixId', 'title', 'checkIds', 'status', 'steps'],
      properties: {
        fixId: { type: 'string' },
        title: { type: 'string' },
        checkIds: { type: 'array', items: { type: 'string' } },
        status: { enum: ['fixed', 'still-failing', 'failed', 'skipped-already-done'] },
        steps: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['index', 'kind', 'where', 'description', 'status', 'message'],
            properties: {
              index: { type: 'integer', minimum: 0 },
              kind: { enum: ['exec', 'write', 'symlink', 'mkdir', 'umount', 'mount', 'manual'] },
              where: { enum: ['host', 'guest'] },
              description: { type: 'string' },
              status: { enum: ['done', 'already-done', 'failed', 'not-run', 'manual'] },
              message: { type: 'string' },
            },
          },
        },
      },
    },
  },
} as const;
