// The benches' "internet": one dnsmasq in namespace `ns` that answers `name` (example.com unless given) with
// 203.0.113.10 on 203.0.113.53, reads no host file (no resolv.conf, no hosts, no config) and forwards nothing.

/** The argv that runs that dnsmasq in the foreground inside `ns` (for the bench's own daemon starter). */
export function dnsmasqArgv(ns, name = 'example.com') {
  return [
    'ip',
    'netns',
    'exec',
    ns,
    'dnsmasq',
    '--keep-in-foreground',
    '--no-resolv',
    '--no-hosts',
    '--conf-file=/dev/null',
    '--user=root',
    '--bind-interfaces',
    '--listen-address=203.0.113.53',
    `--address=/${name}/203.0.113.10`,
    '--local=/#/',
    '--pid-file=',
  ];
}
