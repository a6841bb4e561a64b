/** Why a ping did not get through, when its output says so. */
export type PingError = 'unreachable' | 'permission' | 'unknown-host' | 'no-route' | 'other';

/** What one run of iputils or BusyBox `ping` reported. */
export interface PingOutcome {
  transmitted: number | null;
  received: number | null;
  lossPercent: number | null;
  rttMs: { min: number; avg: number; max: number } | null;
  /**
   * `no-route`: the kernel refused to send (no route, no address). `unreachable`: a router or
   * the local ARP answered "Destination … Unreachable". Plain packet loss is not an error: see `lossPercent`.
   */
  error: PingError | null;
  /** The line that gave the error away, as ping printed it. */
  message: string | null;
}

// Checked in order; the first stderr line matching one of these decides.
const STDERR_RULES: [RegExp, PingError][] = [
  // A firewall rejecting the packet also says "Operation not permitted", but on sendmsg/sendto.
  [/send(?:msg|to): Operation not permitted/i, 'other'],
  [/Operation not permitted|Permission denied|cap_net_raw|setuid|Lacking privilege/i, 'permission'],
  [
    /Name or service not known|Temporary failure in name resolution|No address associated|unknown host|bad address|Name has no usable address/i,
    'unknown-host',
  ],
  [/Network is unreachable|No route to host|Cannot assign requested address/i, 'no-route'],
];

const UNREACHABLE = /Destination (?:Host|Net|Network|Port|Protocol)? ?Unreachable|Host Unreachable|Net Unreachable/i;

function lines(s: string): string[] {
  return s
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/** Read ping's output and exit code. Never throws; an unrecognised output leaves fields null. */
export function parsePing(stdout: string, stderr: string, exitCode: number | null): PingOutcome {
  const counts = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(stdout);
  const loss = /([\d.]+)% packet loss/.exec(stdout);
  const rtt = /(?:rtt|round-trip) min\/avg\/max(?:\/[a-z]+)? = ([\d.]+)\/([\d.]+)\/([\d.]+)/.exec(stdout);
  const out: PingOutcome = {
    transmitted: counts ? Number(counts[1]) : null,
    received: counts ? Number(counts[2]) : null,
    lossPercent: loss && Number.isFinite(Number(loss[1])) ? Number(loss[1]) : null,
    rttMs: rtt ? { min: Number(rtt[1]), avg: Number(rtt[2]), max: Number(rtt[3]) } : null,
    error: null,
    message: null,
  };
  if (out.rttMs && ![out.rttMs.min, out.rttMs.avg, out.rttMs.max].every(Number.isFinite)) out.rttMs = null;
  const errLines = lines(stderr);
  for (const [pattern, error] of STDERR_RULES) {
    const hit = errLines.find((l) => pattern.test(l));
    if (hit !== undefined) return { ...out, error, message: hit };
  }
  // BusyBox and some iputils builds print errors to stdout.
  const unreachable = [...lines(stdout), ...errLines].find((l) => UNREACHABLE.test(l));
  if (unreachable !== undefined && (out.received ?? 0) === 0) return { ...out, error: 'unreachable', message: unreachable };
  if (exitCode === null) return { ...out, error: 'other', message: errLines[0] ?? 'ping did not exit (killed or timed out)' };
  // Exit code 1 just means no reply; anything else without statistics is a failure to run.
  if (exitCode !== 0 && exitCode !== 1 && out.transmitted === null) {
    return { ...out, error: 'other', message: errLines[0] ?? `ping exited with code ${exitCode}` };
  }
  return out;
}
