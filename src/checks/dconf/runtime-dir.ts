import { defineCheck } from '../../core/check.js';
import { couldNotRun, finding, outcomeOf } from '../../core/outcome.js';
import { exportRuntimeDirFix, runtimeDirFix } from '../../fixes/plans/dconf-plans.js';
import type { Finding, Fix } from '../../core/types.js';
import { desktopSessionApplies } from '../../core/desktop-session.js';
import path from 'node:path';
import { placeOfRuntimeDir, repairSafety } from './runtime-dir-place.js';

/** dconf's own words when it cannot make its directory (see test-targets.md §9). */
function dconfError(dir: string): string {
  return `unable to create directory '${dir}/dconf': Permission denied.  dconf will not work properly.`;
}

/** The line dconf printed about its directory, without the pid and timestamp prefix, or null. */
function dconfComplaint(stderr: string): string | null {
  const line = stderr.split('\n').find((l) => l.includes('unable to create directory'));
  if (line === undefined) return null;
  const at = line.indexOf('unable to create directory');
  return line.slice(at).trim();
}

// Creates and removes a directory as the user: what dconf does first, and it leaves nothing behind.
const WRITE_TEST = 'd=$(mktemp -d "$1/.ctr-doctor-XXXXXX") && rmdir "$d"';

export default defineCheck({
  id: 'dconf.runtime-dir',
  group: 'dconf',
  title: 'XDG runtime directory usable by the user',
  description: 'Checks that XDG_RUNTIME_DIR (or /run/user/UID) exists in the guest, belongs to the desktop user, has mode 0700 and is writable by that user, where dconf, PulseAudio and D-Bus keep their sockets; runs dconf as the user when the guest has it, to quote its own error.',
  findings: {
    'runtime-dir-missing': { severity: 'fail', description: 'The runtime directory does not exist; dconf says "unable to create directory \'/run/user/UID/dconf\': Permission denied.  dconf will not work properly."' },
    'runtime-dir-not-a-directory': { severity: 'fail', description: 'The runtime directory path is not a directory.' },
    'runtime-dir-wrong-owner': { severity: 'fail', description: 'The runtime directory belongs to another user (often root, when made by a root shell).' },
    'runtime-dir-mode': { severity: 'warn', description: 'The runtime directory is not mode 0700 (the XDG spec requires it; some programs refuse it).' },
    'runtime-dir-not-writable': { severity: 'fail', description: 'The desktop user cannot create anything in the runtime directory.' },
    'runtime-dir-unset': { severity: 'info', description: 'XDG_RUNTIME_DIR is not set in the session; /run/user/UID was checked instead.' },
    'dconf-cannot-write': { severity: 'fail', description: 'dconf itself, run as the user, prints "unable to create directory".' },
    'runtime-dir-not-standard': { severity: 'warn', description: 'XDG_RUNTIME_DIR names a directory other than /run/user/UID: ctr-doctor creates and changes only /run/user/UID (another path may be a host directory seen through a bind mount, such as schroot\'s /home or /tmp).' },
    'runtime-dir-host-mount': { severity: 'warn', description: 'The runtime directory is on a mount that shows a host directory (a shared /run): changing it changes the host\'s directory, so the repair is unsafe.' },
    'runtime-dir-owner-refused': { severity: 'warn', description: 'The runtime directory belongs to another user, or sits in a directory others can change: ctr-doctor never gives it away.' },
    'write-test-unavailable': { severity: 'info', description: 'The guest has no sh or mktemp to test writing as the user.' },
    'runtime-dir-ok': { severity: 'info', description: 'The runtime directory exists, belongs to the user, is 0700 and writable.' },
  },
  fixDocs: {
    'dconf.make-runtime-dir': 'Create /run/user/UID (or set its mode) 0700, owned by the user: safe on the guest\'s own /run, unsafe on the host\'s seen through a shared /run.',
    'dconf.chown-runtime-dir': 'Give a root-owned /run/user/UID (in a root-owned /run/user) to the user: safe on the guest\'s own /run, unsafe on the host\'s seen through a shared /run.',
    'dconf.export-runtime-dir': 'Set XDG_RUNTIME_DIR in the guest session.',
  },
  appliesTo: (ctx) => desktopSessionApplies(ctx, 'the runtime directory'),

  async run(ctx) {
    const { target } = ctx;
    const { user } = target;
    const findings: Finding[] = [];
    const fixes: Fix[] = [];
    const timeoutMs = Math.max(200, Math.floor(ctx.options.timeoutMs / 2));

    // What it looks at: the directory the session names (or the standard one), as the user.
    const fromEnv = target.env.XDG_RUNTIME_DIR;
    const dir = fromEnv && fromEnv.startsWith('/') ? fromEnv.replace(/(.)\/+$/, '$1') : `/run/user/${user.uid}`;
    if (!fromEnv) {
      findings.push(finding('runtime-dir-unset', 'info', `XDG_RUNTIME_DIR is not set in the session (from ${target.envSource}); checking ${dir}`, { dir }));
      fixes.push(exportRuntimeDirFix(dir));
    }
    const userOpts = { user: { uid: user.uid, gid: user.gid, groups: user.groups }, timeoutMs };
    const dconfEnv = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: user.home, USER: user.name, LOGNAME: user.name, LANG: 'C', XDG_RUNTIME_DIR: dir };
    // dconf itself runs only when something is wrong, to quote its own words: a healthy run starts no process for it.
    let dconfRun: Promise<{ complaint: string | null; stderr: string | null }> | undefined;
    const askDconf = () => (dconfRun ??= target.exec(['dconf', 'read', '/org/gnome/desktop/interface/gtk-theme'], { ...userOpts, env: dconfEnv })
      .then((r) => (r.notFound ? { complaint: null, stderr: null } : { complaint: dconfComplaint(r.stderr), stderr: r.stderr.trim().slice(0, 2000) })));
    const quote = async () => (await askDconf()).complaint ?? dconfError(dir);
    const looked = { dir, source: fromEnv ? 'XDG_RUNTIME_DIR' : 'default', uid: user.uid };
    const evidence = async () => ({ ...looked, dconfStderr: (await askDconf()).stderr });
    const [info, guestMounts, hostMounts] = await Promise.all([target.stat(dir), target.mounts().catch(() => []), ctx.host.mountinfo().catch(() => [])]);
    const standardDir = `/run/user/${user.uid}`;
    const place = placeOfRuntimeDir('error' in info ? dir : info.guestPath, user.uid, guestMounts, hostMounts, target.root);
    const parent = 'error' in info ? null : await target.stat(path.posix.dirname(info.guestPath));
    const parentRootOwned = parent !== null && !('error' in parent) && parent.type === 'directory' && parent.uid === 0 && (parent.mode & 0o022) === 0;
    /** Offers a repair of the directory only where the audit's rules (H2) allow it, saying why when they do not. */
    const offer = (change: 'create' | 'mode' | 'owner'): void => {
      const safety = repairSafety(place, change, 'error' in info ? null : { uid: info.uid, parentRootOwned });
      if (!place.standard) {
        if (!findings.some((f) => f.code === 'runtime-dir-not-standard')) {
          findings.push(finding('runtime-dir-not-standard', 'warn', `XDG_RUNTIME_DIR is ${dir}, not ${standardDir}: ctr-doctor creates and changes only ${standardDir} (another path may be a host directory seen through a bind mount)`, { ...looked, standard: standardDir }));
          fixes.push(exportRuntimeDirFix(standardDir));
        }
        return;
      }
      if (safety === null) {
        findings.push(finding('runtime-dir-owner-refused', 'warn', `${dir} belongs to uid ${'error' in info ? '?' : info.uid}${parentRootOwned ? '' : ' in a directory that is not root\'s alone'}: ctr-doctor gives only a root-owned directory in a root-owned /run/user to ${user.name}`, { ...looked, parentRootOwned }));
        return;
      }
      if (place.hostMount && !findings.some((f) => f.code === 'runtime-dir-host-mount')) {
        findings.push(finding('runtime-dir-host-mount', 'warn', `${dir} is on ${place.hostMount.mountPoint}, a mount of the host's ${place.hostMount.root} (${place.hostMount.fsType}): changing it changes the host's directory, so the repair is unsafe`, { ...looked, mountPoint: place.hostMount.mountPoint, hostRoot: place.hostMount.root, device: `${place.hostMount.major}:${place.hostMount.minor}` }));
      }
      fixes.unshift(runtimeDirFix(dir, user, change, safety));
    };

    // How it decides: existence, then type, owner, mode, then an actual write as the user.
    if ('error' in info && info.error === 'permission') {
      // Not being allowed to look is not the same as the directory being missing.
      return couldNotRun(`needs root: run with sudo (cannot look at ${dir} in the guest: ${info.message})`);
    }
    if ('error' in info) {
      findings.push(finding('runtime-dir-missing', 'fail', `${dir} does not exist in the guest, so dconf prints "${await quote()}"`, { ...(await evidence()), error: info.error }));
      offer('create');
      return outcomeOf(findings, fixes);
    }
    if (info.type !== 'directory') {
      findings.push(finding('runtime-dir-not-a-directory', 'fail', `${dir} is a ${info.type}, not a directory, so dconf prints "${await quote()}"`, { ...(await evidence()), type: info.type }));
      return outcomeOf(findings, fixes);
    }
    const mode = info.mode & 0o7777;
    if (info.uid !== user.uid) {
      findings.push(finding('runtime-dir-wrong-owner', 'fail', `${dir} belongs to uid ${info.uid}, not to ${user.name} (uid ${user.uid})`, { ...(await evidence()), owner: info.uid, mode: mode.toString(8) }));
      offer('owner');
    } else if (mode !== 0o700) {
      findings.push(finding('runtime-dir-mode', 'warn', `${dir} has mode ${mode.toString(8).padStart(4, '0')}, not 0700 as the XDG Base Directory spec requires`, { ...(await evidence()), mode: mode.toString(8) }));
      offer('mode');
    }
    const [write, own] = await Promise.all([target.exec(['sh', '-c', WRITE_TEST, 'sh', dir], userOpts), target.stat(`${dir}/dconf`)]);
    if (write.notFound || write.spawnError !== undefined) {
      findings.push(finding('write-test-unavailable', 'info', `could not test writing to ${dir} as ${user.name}: ${write.spawnError ?? 'sh or mktemp is missing in the guest'}`, await evidence()));
    } else if (write.exitCode !== 0) {
      findings.push(finding('runtime-dir-not-writable', 'fail', `${user.name} (uid ${user.uid}) cannot create anything in ${dir}, so dconf prints "${await quote()}"`, { ...(await evidence()), stderr: write.stderr.trim().slice(0, 500) }));
      if (!fixes.some((f) => f.id === 'dconf.chown-runtime-dir') && info.uid !== user.uid) offer('owner');
    }
    // dconf's own directory in the way (a file, a dangling link, another owner's directory): dconf says so even when the rest is right.
    const ownInTheWay = !('error' in own && own.error === 'missing') && !('type' in own && own.type === 'directory' && own.uid === user.uid);
    if (ownInTheWay && !findings.some((f) => f.severity === 'fail')) {
      const { complaint } = await askDconf();
      if (complaint !== null) findings.push(finding('dconf-cannot-write', 'fail', `dconf run as ${user.name} prints "${complaint}"`, await evidence()));
    }
    if (!findings.some((f) => f.severity !== 'info')) {
      findings.push(finding('runtime-dir-ok', 'info', `${dir} belongs to ${user.name}, is mode 0700 and writable`, looked));
    }
    return outcomeOf(findings, fixes, findings.some((f) => f.severity !== 'info') ? undefined : `${dir}: owned by ${user.name}, 0700, writable`);
  },
});
