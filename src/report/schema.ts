/** The JSON Schema (draft 2020-12) of the report, `schemaVersion` 1. Printed by `ctr-doctor schema`. */
export const reportSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://ctr-doctor.dev/schema/report-v1.json',
  title: 'ctr-doctor report',
  type: 'object',
  additionalProperties: false,
  required: ['schemaVersion', 'tool', 'target', 'startedAt', 'durationMs', 'success', 'summary', 'results'],
  properties: {
    schemaVersion: { const: 1 },
    tool: {
      type: 'object', additionalProperties: false, required: ['name', 'version'],
      properties: { name: { const: 'ctr-doctor' }, version: { type: 'string' } },
    },
    host: {
      description: 'The machine ctr-doctor ran on (optional: older reports lack it).',
      type: 'object', additionalProperties: false, required: ['name'],
      properties: { name: { type: 'string', description: 'its hostname (gethostname)' } },
    },
    target: {
      type: 'object', additionalProperties: false, required: ['kind', 'name', 'root', 'pid'],
      properties: {
        kind: { enum: ['chroot', 'schroot', 'nspawn', 'pid', 'self', 'host'] },
        name: { type: 'string' },
        root: { type: 'string' },
        pid: { type: ['integer', 'null'], minimum: 1 },
      },
    },
    startedAt: { type: 'string', format: 'date-time' },
    durationMs: { type: 'integer', minimum: 0 },
    success: { type: 'boolean' },
    summary: {
      type: 'object', additionalProperties: false, required: ['pass', 'warn', 'fail', 'skip', 'error'],
      properties: Object.fromEntries(['pass', 'warn', 'fail', 'skip', 'error'].map((k) => [k, { type: 'integer', minimum: 0 }])),
    },
    results: { type: 'array', items: { $ref: '#/$defs/result' } },
  },
  $defs: {
    result: {
      type: 'object', additionalProperties: false,
      required: ['id', 'group', 'title', 'status', 'summary', 'durationMs', 'findings', 'fixes'],
      properties: {
        id: { type: 'string', pattern: '^[a-z0-9-]+\\.[a-z0-9.-]+$' },
        group: { type: 'string' },
        title: { type: 'string' },
        status: { enum: ['pass', 'warn', 'fail', 'skip', 'error'] },
        summary: { type: 'string' },
        durationMs: { type: 'integer', minimum: 0 },
        findings: { type: 'array', items: { $ref: '#/$defs/finding' } },
        fixes: { type: 'array', items: { $ref: '#/$defs/fix' } },
      },
    },
    finding: {
      type: 'object', additionalProperties: false, required: ['code', 'severity', 'message', 'evidence'],
      properties: {
        code: { type: 'string', pattern: '^[a-z0-9]+(-[a-z0-9]+)*$' },
        severity: { enum: ['fail', 'warn', 'info'] },
        message: { type: 'string' },
        evidence: { type: 'object' },
      },
    },
    fix: {
      type: 'object', additionalProperties: false, required: ['id', 'title', 'safety', 'steps'],
      properties: {
        id: { type: 'string' },
        title: { type: 'string' },
        safety: { enum: ['safe', 'unsafe', 'manual'] },
        steps: { type: 'array', items: { $ref: '#/$defs/step' } },
      },
    },
    step: {
      type: 'object', required: ['kind', 'where', 'description'],
      properties: {
        kind: { enum: ['exec', 'write', 'symlink', 'mkdir', 'umount', 'mount', 'manual'] },
        where: { enum: ['host', 'guest'] },
        description: { type: 'string' },
        argv: { type: 'array', items: { type: 'string' } },
        unless: { type: 'array', items: { type: 'string' } },
        path: { type: 'string' },
        content: { type: 'string' },
        target: { type: 'string' },
        mode: { type: 'integer' },
        uid: { type: 'integer' },
        gid: { type: 'integer' },
        recursive: { type: 'boolean' },
        makeRslave: { type: 'boolean' },
        lazy: { type: 'boolean' },
        source: {
          type: 'object', required: ['kind'],
          properties: { kind: { enum: ['tmpfs', 'bind'] }, options: { type: 'string' }, hostPath: { type: 'string' } },
        },
        snippet: { type: 'string' },
      },
    },
  },
} as const;
