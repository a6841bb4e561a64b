import type { Check } from '../core/check.js';
import resolvConf from './dns/resolv-conf.js';

/** The built-in checks, in report order. Add a check by importing it here. */
export const builtinChecks: Check[] = [
  // net
  // dns
  resolvConf,
  // x11, audio, dconf, session
  // mounts, schroot
];
