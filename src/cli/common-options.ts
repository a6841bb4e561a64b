import type { Argv } from 'yargs';

/** Options shared by `check` and `fix`, exactly as the contract names them. */
export function withDiagnoseOptions<T>(y: Argv<T>) {
  return y
    .positional('target', { type: 'string', describe: 'chroot:DIR | DIR | schroot:NAME | session:ID | nspawn:NAME | pid:N | self' })
    .option('json', { type: 'boolean', describe: 'write only the JSON report to stdout (same as --format json)' })
    .option('format', { choices: ['tty', 'text', 'json', 'junit', 'prometheus'] as const, describe: 'output format' })
    .option('output', {
      type: 'string',
      requiresArg: true,
      describe: 'write the report to FILE atomically (temp file, then rename), e.g. for node_exporter',
    })
    .option('only', { type: 'string', describe: 'comma-separated check ids or groups to run' })
    .option('skip', { type: 'string', describe: 'comma-separated check ids or groups to leave out' })
    .option('timeout', { type: 'number', default: 2000, describe: 'per-probe limit in ms; bounds the whole run' })
    .option('user', { type: 'string', describe: 'the desktop user inside the guest (name or uid)' })
    .option('env-from', { type: 'number', describe: 'take the session environment from this process' })
    .option('ping-target', { type: 'string', describe: 'address to ping (env CTR_DOCTOR_PING_TARGET, default 8.8.8.8)' })
    .option('dns-name', { type: 'string', describe: 'name to resolve (env CTR_DOCTOR_DNS_NAME, default example.com)' })
    .option('strict', { type: 'boolean', default: false, describe: 'warnings count as failures' })
    .option('compare-host', {
      type: 'boolean',
      default: false,
      describe: 'also ask from the host to place a fault (sends packets from the host)',
    })
    .option('all', { type: 'boolean', default: false, describe: 'diagnose every guest that `list` finds' })
    .option('plugin', { type: 'string', array: true, describe: 'load more checks and fixes from a module (repeatable)' })
    .option('verbose', { type: 'boolean', default: false, describe: 'show every finding, evidence included' })
    .option('color', { type: 'boolean', default: true, describe: 'colour output (--no-color, or NO_COLOR, turns it off)' });
}

/** Splits a comma-separated list option. */
export function listOption(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
