/**
 * What a device cgroup lets a guest's processes open: cgroup v1's devices.list (`c 226:* rw`,
 * `a *:* rwm`) or systemd's DevicePolicy/DeviceAllow of the unit (cgroup v2 enforces those with a
 * BPF program, which shows nothing readable in the cgroup itself).
 */

/** One allow rule: `c` char, `b` block, `a` all; null major/minor is `*`. */
export interface DeviceRule {
  type: 'a' | 'c' | 'b';
  major: number | null;
  minor: number | null;
  access: string;
  /** A DeviceAllow path (`/dev/dri/renderD128 rw`), matched by path, not number. */
  path?: string;
}

/** A device cgroup's allow list, and where it was read. */
export interface DeviceCgroup {
  /** `cgroup v1 /machine/box (devices.list)`, or `machine-box.scope (DevicePolicy=closed)`. */
  source: string;
  /** True when everything is allowed (`a *:* rwm`, or DevicePolicy=auto with no DeviceAllow). */
  open: boolean;
  rules: DeviceRule[];
}

const num = (s: string): number | null => (s === '*' ? null : Number(s));

/** Parses cgroup v1 `devices.list`. */
export function parseDevicesList(text: string, source: string): DeviceCgroup {
  const rules: DeviceRule[] = [];
  for (const line of text.split('\n')) {
    const m = /^([acb]) (\*|\d+):(\*|\d+) ([rwm]+)$/.exec(line.trim());
    if (m) rules.push({ type: m[1] as DeviceRule['type'], major: num(m[2]!), minor: num(m[3]!), access: m[4]! });
  }
  return {
    source,
    open: rules.some((r) => r.type === 'a' && r.major === null && r.minor === null && r.access.includes('r') && r.access.includes('w')),
    rules,
  };
}

/**
 * Parses `systemctl show -p DevicePolicy -p DeviceAllow UNIT`. `char-NAME` classes become the
 * majors /proc/devices gives NAME (`charMajors`); globs in NAME (`char-nvidia*`) are matched.
 */
export function parseDevicePolicy(text: string, unit: string, charMajors: ReadonlyMap<string, number[]>): DeviceCgroup {
  const policy = /^DevicePolicy=(\S+)/m.exec(text)?.[1] ?? 'auto';
  const rules: DeviceRule[] = [];
  for (const m of text.matchAll(/^DeviceAllow=(.*)$/gm)) {
    // One property line may carry several entries when systemd joins them: "char-drm rw /dev/snd rwm".
    for (const entry of m[1]!.matchAll(/(\S+) ([rwm]+)/g)) {
      const [, spec, access] = entry;
      if (spec!.startsWith('/dev/')) rules.push({ type: 'c', major: null, minor: null, access: access!, path: spec! });
      else if (spec!.startsWith('char-') || spec!.startsWith('block-')) {
        const pattern = new RegExp(
          `^${spec!
            .slice(spec!.indexOf('-') + 1)
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*/g, '.*')}$`,
        );
        for (const [name, majors] of charMajors)
          if (pattern.test(name))
            for (const major of majors) rules.push({ type: spec!.startsWith('char-') ? 'c' : 'b', major, minor: null, access: access! });
      }
    }
  }
  return { source: `${unit} (DevicePolicy=${policy})`, open: policy === 'auto' && rules.length === 0, rules };
}

/** Majors of the char devices in /proc/devices, by driver name (`226 drm`, `116 alsa`). */
export function parseProcDevices(text: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const chars = text.split(/^Block devices:/m)[0] ?? '';
  for (const m of chars.matchAll(/^\s*(\d+) (\S+)$/gm)) out.set(m[2]!, [...(out.get(m[2]!) ?? []), Number(m[1])]);
  return out;
}

/** Whether the cgroup lets its processes open char device major:minor (at `path`) read-write. */
export function allowsReadWrite(cg: DeviceCgroup, major: number, minor: number, path: string): boolean {
  if (cg.open) return true;
  return cg.rules.some(
    (r) =>
      r.access.includes('r') &&
      r.access.includes('w') &&
      (r.path !== undefined
        ? r.path === path
        : (r.type === 'a' || r.type === 'c') && (r.major === null || r.major === major) && (r.minor === null || r.minor === minor)),
  );
}
