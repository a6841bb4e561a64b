// An example ctr-doctor plugin: checks the guest's /etc/hostname.
// Load it with: ctr-doctor chroot:/srv/guest --plugin ./examples/plugin-hostname/index.mjs
import { defineCheck, defineFix, finding, outcomeOf, skipped } from 'ctr-doctor';

// RFC 1123 host name: labels of letters, digits and hyphens, not starting or ending with a hyphen.
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** A fix is data: a plan of steps that ctr-doctor's engine applies (with a backup and undo). */
export const writeHostname = defineFix((name) => ({
  id: 'example.hostname.write',
  title: `Write "${name}" to /etc/hostname`,
  safety: 'safe',
  steps: [
    {
      kind: 'write',
      where: 'guest',
      path: '/etc/hostname',
      content: `${name}\n`,
      mode: 0o644,
      description: `write ${name} to the guest's /etc/hostname`,
    },
  ],
}));

export const checks = [
  defineCheck({
    id: 'example.hostname',
    group: 'example',
    title: 'Guest /etc/hostname',
    description:
      'Reads /etc/hostname inside the guest root: some programs (sudo, X clients) complain or stall when it is missing or holds a name that is not a valid host name.',
    findings: {
      'hostname-ok': { severity: 'info', description: '/etc/hostname holds a valid host name.' },
      'hostname-missing': { severity: 'warn', description: '/etc/hostname does not exist in the guest.' },
      'hostname-empty': { severity: 'warn', description: '/etc/hostname is empty.' },
      'hostname-invalid': { severity: 'fail', description: '/etc/hostname holds something that is not a valid host name.' },
    },
    fixDocs: { 'example.hostname.write': "write a host name derived from the guest's name to /etc/hostname" },
    // `self` is the tool's own environment: no guest whose files we should judge.
    appliesTo: (ctx) => (ctx.target.kind === 'host' ? 'the host is not a guest' : true),
    async run(ctx) {
      const read = await ctx.target.readFile('/etc/hostname');
      const fallback =
        ctx.target.name
          .replace(/^.*[/:]/, '')
          .replace(/[^a-z0-9-]/gi, '-')
          .replace(/^-+|-+$/g, '') || 'guest';
      if (!read.ok && read.reason === 'permission') return skipped('cannot read /etc/hostname: needs root');
      if (!read.ok) {
        return outcomeOf(
          [finding('hostname-missing', 'warn', `/etc/hostname is missing in the guest (${read.message})`, { reason: read.reason })],
          [writeHostname(fallback)],
        );
      }
      const name = read.text.trim();
      if (name === '')
        return outcomeOf([finding('hostname-empty', 'warn', '/etc/hostname is empty in the guest')], [writeHostname(fallback)]);
      if (!HOSTNAME.test(name)) {
        return outcomeOf(
          [
            finding('hostname-invalid', 'fail', `/etc/hostname holds "${name.slice(0, 80)}", which is not a valid host name`, {
              hostname: name.slice(0, 300),
            }),
          ],
          [writeHostname(fallback)],
        );
      }
      return outcomeOf([finding('hostname-ok', 'info', `host name is ${name}`, { hostname: name })]);
    },
  }),
];
