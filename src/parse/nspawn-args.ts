/** A bind mount from `--bind` or `--bind-ro`. `source` may start with `+` (relative to the container root). */
export interface NspawnBind {
  source: string;
  dest: string;
  readOnly: boolean;
}

/** What a systemd-nspawn command line asked for. */
export interface NspawnArgs {
  machine: string | null;
  /** The name nspawn registers: `--machine`, else the last component of the directory or image. */
  effectiveMachine: string | null;
  directory: string | null;
  image: string | null;
  boot: boolean;
  /** True with `--private-network` and with every option that implies it (`-n`, `--network-*`). */
  privateNetwork: boolean;
  networkVeth: boolean;
  networkNamespacePath: string | null;
  networkBridge: string | null;
  networkZone: string | null;
  resolvConf: string | null;
  binds: NspawnBind[];
  setenv: Record<string, string>;
  keepUnit: boolean;
  /** `--register=`; null when not given (nspawn's default is yes). */
  register: boolean | null;
  user: string | null;
  /** The command and its arguments after the options. */
  rest: string[];
}

// Short options that take a value, from nspawn's getopt string "+hD:u:abL:M:jS:Z:qi:xp:nUE:P".
const SHORT_WITH_VALUE = new Set(['D', 'u', 'L', 'M', 'S', 'Z', 'i', 'p', 'E']);
const SHORT_LONG: Record<string, string> = {
  D: 'directory',
  u: 'user',
  M: 'machine',
  i: 'image',
  E: 'setenv',
  b: 'boot',
  n: 'network-veth',
};

// Long options declared with required_argument; every other long option is taken as a flag.
const LONG_WITH_VALUE = new Set([
  'directory',
  'template',
  'image',
  'machine',
  'user',
  'setenv',
  'bind',
  'bind-ro',
  'network-namespace-path',
  'network-bridge',
  'network-zone',
  'resolv-conf',
  'register',
  'uuid',
  'slice',
  'property',
  'network-interface',
  'network-macvlan',
  'network-ipvlan',
  'network-veth-extra',
  'port',
  'capability',
  'drop-capability',
  'kill-signal',
  'link-journal',
  'tmpfs',
  'overlay',
  'overlay-ro',
  'chdir',
  'pivot-root',
  'personality',
  'console',
  'timezone',
  'hostname',
  'settings',
  'notify-ready',
  'rlimit',
  'oom-score-adjust',
  'cpu-affinity',
  'system-call-filter',
  'no-new-privileges',
  'selinux-context',
  'selinux-apifs-context',
  'inaccessible',
  'root-hash',
  'root-hash-sig',
  'verity-data',
  'image-policy',
  'load-credential',
  'set-credential',
  'bind-user',
  'private-users-ownership',
  'background',
  'suppress-sync',
  'forward-journal',
  'ambient-capability',
  'bind-user-shell',
  'restrict-address-families',
]);

// systemd's parse_boolean().
function parseBool(v: string): boolean | null {
  if (/^(1|yes|y|true|t|on)$/i.test(v)) return true;
  if (/^(0|no|n|false|f|off)$/i.test(v)) return false;
  return null;
}

// SRC[:DST[:OPTIONS]], where `\:` is a literal colon.
function parseBind(value: string, readOnly: boolean): NspawnBind {
  const parts: string[] = [''];
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] ?? '';
    if (ch === '\\' && i + 1 < value.length) parts.push((parts.pop() ?? '') + (value[++i] ?? ''));
    else if (ch === ':') parts.push('');
    else parts.push((parts.pop() ?? '') + ch);
  }
  const source = parts[0] ?? '';
  const dest = parts[1] || source.replace(/^\+/, '');
  return { source, dest, readOnly };
}

function basename(p: string): string | null {
  const trimmed = p.replace(/\/+$/, '');
  const base = trimmed.slice(trimmed.lastIndexOf('/') + 1);
  return base === '' ? null : base;
}

function emptyArgs(): NspawnArgs {
  return {
    machine: null,
    effectiveMachine: null,
    directory: null,
    image: null,
    boot: false,
    privateNetwork: false,
    networkVeth: false,
    networkNamespacePath: null,
    networkBridge: null,
    networkZone: null,
    resolvConf: null,
    binds: [],
    setenv: {},
    keepUnit: false,
    register: null,
    user: null,
    rest: [],
  };
}

function apply(a: NspawnArgs, name: string, value: string | null): void {
  const v = value ?? '';
  switch (name) {
    case 'machine':
      a.machine = v;
      break;
    case 'directory':
      a.directory = v;
      break;
    case 'image':
      a.image = v;
      break;
    case 'boot':
      a.boot = true;
      break;
    case 'user':
      a.user = v;
      break;
    case 'keep-unit':
      a.keepUnit = true;
      break;
    case 'register':
      a.register = parseBool(v);
      break;
    case 'resolv-conf':
      a.resolvConf = v;
      break;
    case 'bind':
      a.binds.push(parseBind(v, false));
      break;
    case 'bind-ro':
      a.binds.push(parseBind(v, true));
      break;
    case 'private-network':
      a.privateNetwork = true;
      break;
    case 'network-namespace-path':
      a.networkNamespacePath = v;
      break;
    case 'network-veth':
      a.networkVeth = a.privateNetwork = true;
      break;
    case 'network-bridge':
      a.networkBridge = v;
      a.networkVeth = a.privateNetwork = true;
      break;
    case 'network-zone':
      a.networkZone = v;
      a.networkVeth = a.privateNetwork = true;
      break;
    case 'network-interface':
    case 'network-macvlan':
    case 'network-ipvlan':
    case 'network-veth-extra':
      a.privateNetwork = true;
      break;
    case 'setenv': {
      // `-E NAME` without `=` copies nspawn's own variable, which we cannot see.
      const eq = v.indexOf('=');
      if (eq > 0) a.setenv[v.slice(0, eq)] = v.slice(eq + 1);
      break;
    }
  }
}

/**
 * Parse a systemd-nspawn argv (with or without argv[0]) the way its getopt_long does: options stop
 * at the first non-option or `--`. Unknown options are ignored. Never throws.
 */
export function parseNspawnArgs(argv: readonly string[]): NspawnArgs {
  const a = emptyArgs();
  a.setenv = Object.create(null) as Record<string, string>;
  let i = 0;
  const first = argv[0];
  if (first !== undefined && !first.startsWith('-') && /nspawn$/.test(first)) i = 1;
  for (; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      i++;
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      let value: string | null = eq < 0 ? null : arg.slice(eq + 1);
      if (value === null && LONG_WITH_VALUE.has(name)) value = argv[++i] ?? null;
      apply(a, name, value);
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    // A cluster such as `-bnD`: the first option that takes a value eats the rest, or the next word.
    for (let j = 1; j < arg.length; j++) {
      const ch = arg[j] ?? '';
      if (SHORT_WITH_VALUE.has(ch)) {
        const value = j + 1 < arg.length ? arg.slice(j + 1) : (argv[++i] ?? null);
        const long = SHORT_LONG[ch];
        if (long !== undefined) apply(a, long, value);
        break;
      }
      const long = SHORT_LONG[ch];
      if (long !== undefined) apply(a, long, null);
    }
  }
  a.rest = argv.slice(i);
  const image = a.image === null ? null : (basename(a.image)?.replace(/\.raw$/, '') ?? null);
  a.effectiveMachine = a.machine || (a.directory !== null ? basename(a.directory) : image) || null;
  return a;
}
