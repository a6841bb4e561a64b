/**
 * Decide, once, whether real-guest integration tests can run here, and say
 * loudly why not when they cannot.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe } from 'vitest';

/** Tools every integration world needs (netns, mounts, DNS probes). */
export const CORE_TOOLS = ['ip', 'nsenter', 'mount', 'umount', 'chroot', 'dig', 'ping', 'dnsmasq', 'node'] as const;

/** Tools per optional feature, for {@link requireTool} / {@link featureSkipReason}. */
export const FEATURE_TOOLS = {
  schroot: ['schroot'],
  nspawn: ['systemd-nspawn', 'systemctl'],
  x11: ['Xvfb', 'xauth', 'mcookie', 'xdpyinfo'],
  pulse: ['pulseaudio', 'pactl'],
  dconf: ['dconf', 'gsettings', 'setpriv'],
} as const;

/** A feature name of {@link FEATURE_TOOLS}. */
export type Feature = keyof typeof FEATURE_TOOLS;

/** The absolute path of `name` on PATH (plus the sbin dirs), or null. */
export function which(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

function missing(tools: readonly string[]): string[] {
  return tools.filter((t) => which(t) === null);
}

function computeReason(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.env.CTR_DOCTOR_SKIP_INTEGRATION) return 'CTR_DOCTOR_SKIP_INTEGRATION is set';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return 'not running as root (namespaces, mounts and guests need root)';
  }
  const m = missing(CORE_TOOLS);
  if (m.length) return `missing tools: ${m.join(', ')} (run .ci/run or apt-get install them)`;
  return null;
}

/** null when integration tests can run (root + core tools); otherwise why not. */
export const integrationSkipReason: string | null = computeReason();

/** Why tests for `feature` cannot run, or null (includes {@link integrationSkipReason}). */
export function featureSkipReason(feature: Feature): string | null {
  if (integrationSkipReason) return integrationSkipReason;
  const m = missing(FEATURE_TOOLS[feature]);
  return m.length ? `missing tools for ${feature}: ${m.join(', ')}` : null;
}

/** Null when every tool in `names` is installed, else a reason naming the missing ones. */
export function requireTool(...names: string[]): string | null {
  if (integrationSkipReason) return integrationSkipReason;
  const m = missing(names);
  return m.length ? `missing tools: ${m.join(', ')}` : null;
}

const warned = new Set<string>();
function warnOnce(reason: string): void {
  if (warned.has(reason)) return;
  warned.add(reason);
  console.warn(`SKIPPING integration tests: ${reason}`);
}

/** `describe` when integration tests can run, else `describe.skip` plus a loud warning. */
export const describeIntegration: typeof describe = integrationSkipReason
  ? (warnOnce(integrationSkipReason), describe.skip as unknown as typeof describe)
  : describe;

/** Like {@link describeIntegration} for one feature (e.g. `'nspawn'`). */
export function describeFeature(feature: Feature): typeof describe {
  const reason = featureSkipReason(feature);
  if (reason) {
    warnOnce(reason);
    return describe.skip as unknown as typeof describe;
  }
  return describe;
}
