import type { Check } from '../core/check.js';
import resolvConf from './dns/resolv-conf.js';
import netPing from './net/ping.js';
import dnsResolve from './dns/resolve.js';
import dnsStub from './dns/stub.js';
import x11Display from './x11/display.js';
import x11Socket from './x11/socket.js';
import x11MitShm from './x11/mitshm.js';
import audioPulse from './audio/pulse.js';
import audioPipewire from './audio/pipewire.js';
import dconfRuntimeDir from './dconf/runtime-dir.js';
import sessionUser from './session/user.js';
import mountsLeftover from './mounts/leftover.js';
import mountsHostRun from './mounts/host-run.js';
import schrootSessions from './schroot/sessions.js';
import schrootConfig from './schroot/config.js';
import fsApi from './fs/api.js';
import devPts from './dev/pts.js';
import devShm from './dev/shm.js';
import dbusMachineId from './dbus/machine-id.js';
import hostsHostname from './hosts/hostname.js';
import localeLang from './locale/lang.js';
import nssHosts from './nss/hosts.js';
import nspawnBoot from './nspawn/boot.js';
import usernsIdmap from './userns/idmap.js';
import dbusSession from './dbus/session.js';
import dbusSystem from './dbus/system.js';
import waylandSocket from './wayland/socket.js';
import devAccess from './dev/access.js';

/** The built-in checks, in report order. Add a check by importing it here. */
export const builtinChecks: Check[] = [
  // net
  netPing,
  // dns
  resolvConf,
  dnsResolve,
  dnsStub,
  // x11, audio, dconf, session
  x11Display,
  x11Socket,
  x11MitShm,
  audioPulse,
  audioPipewire,
  dconfRuntimeDir,
  sessionUser,
  // mounts, schroot
  mountsLeftover,
  mountsHostRun,
  schrootSessions,
  schrootConfig,
  // system plumbing under every app: API filesystems, devices, identity, names, locale
  fsApi,
  devPts,
  devShm,
  dbusMachineId,
  hostsHostname,
  localeLang,
  nssHosts,
  nspawnBoot,
  usernsIdmap,
  // desktop plumbing: buses, compositor, sound server, devices
  dbusSession,
  dbusSystem,
  waylandSocket,
  devAccess,
];
