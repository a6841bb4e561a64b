const counts = Object.fromEntries(['pass', 'warn', 'fail', 'skip', 'error'].map((k) => [k, { type: 'integer', minimum: 0 }]));
const hostFrom = { enum: ['report', 'file'], description: "where the host's name came from: the report's host.name, or the file name" };

/** The JSON Schema (draft 2020-12) of `ctr-doctor summary --json`. Printed by `ctr-doctor schema summary`. */
export const summarySchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://ctr-doctor.dev/schema/summary-v1.json',
  title: 'ctr-doctor fleet summary',
  type: 'object',
  additionalProperties: false,
  required: ['schemaVersion', 'exitCode', 'totals', 'rows', 'emptyHosts', 'checks', 'unreadable'],
  properties: {
    schemaVersion: { const: 1 },
    exitCode: { enum: [0, 1, 2, 3], description: '2 when an input could not be read; else 1 on a fail, 3 on an error without a fail, 0' },
    totals: {
      type: 'object',
      additionalProperties: false,
      required: ['hosts', 'hostsFailing', 'guests', 'files', 'pass', 'warn', 'fail', 'skip', 'error'],
      properties: {
        hosts: { type: 'integer', minimum: 0 },
        hostsFailing: { type: 'integer', minimum: 0 },
        guests: { type: 'integer', minimum: 0 },
        files: { type: 'integer', minimum: 0 },
        ...counts,
      },
    },
    rows: {
      description: 'one per guest report, hosts with failures first',
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['host', 'hostFrom', 'file', 'guest', 'kind', 'source', 'startedAt', 'counts', 'failing', 'erroring'],
        properties: {
          host: { type: 'string' },
          hostFrom,
          file: { type: 'string' },
          guest: { type: 'string', description: "the report's target.name" },
          kind: { type: 'string', description: "the report's target.kind" },
          source: { enum: ['check', 'fix'], description: 'fix: from `fix --json`, the checks run again after the fixes replacing theirs' },
          startedAt: { type: ['string', 'null'] },
          counts: { type: 'object', additionalProperties: false, required: ['pass', 'warn', 'fail', 'skip', 'error'], properties: counts },
          failing: { type: 'array', items: { type: 'string' } },
          erroring: { type: 'array', items: { type: 'string' } },
        },
      },
    },
    emptyHosts: {
      description: 'hosts whose `check --all` found no guest',
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['host', 'hostFrom', 'file'],
        properties: { host: { type: 'string' }, hostFrom, file: { type: 'string' } },
      },
    },
    checks: {
      description: 'per check id and status (fail or error): how many hosts and guests it hits, most hosts first',
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'status', 'hosts', 'guests', 'hostNames'],
        properties: {
          id: { type: 'string' },
          status: { enum: ['fail', 'error'] },
          hosts: { type: 'integer', minimum: 1 },
          guests: { type: 'integer', minimum: 1 },
          hostNames: { type: 'array', items: { type: 'string' } },
        },
      },
    },
    unreadable: {
      description: 'inputs that are not reports, one line each',
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['file', 'message'],
        properties: { file: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
} as const;
