import { appendFile, mkdir, readFile, rm, writeFile, chown } from 'node:fs/promises';
import path from 'node:path';

/** The desktop user of the demo guest. */
export const DEMO_UID = 1000;

/** What the demo broke, for the intro text. */
export const DEMO_BREAKAGE = [
  'an empty /etc/resolv.conf (resolvconf inside a container writes one: the Loki case)',
  `no /run/user/${DEMO_UID} (dconf: "unable to create directory '/run/user/${DEMO_UID}/dconf'")`,
  'a desktop session with no DISPLAY ("Error: no DISPLAY environment variable specified")',
  'its own network namespace with no route ("Network is unreachable")',
  'an empty /etc/machine-id, as an image build leaves it (D-Bus: "failed to read machine uuid")',
  'entered before /proc, /sys and /dev were mounted (ps: "Error, do this: mount -t proc proc /proc")',
];

/** Makes sure uid 1000 has a passwd entry and a home, as on a desktop. Returns the user's name and home. */
async function ensureDesktopUser(root: string): Promise<{ name: string; home: string }> {
  const passwd = await readFile(path.join(root, 'etc/passwd'), 'utf8').catch(() => '');
  const line = passwd
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f.length >= 7 && Number(f[2]) === DEMO_UID);
  if (line) return { name: line[0]!, home: line[5]! };
  const user = { name: 'ctr-demo', home: '/home/ctr-demo' };
  await appendFile(path.join(root, 'etc/passwd'), `${user.name}:x:${DEMO_UID}:${DEMO_UID}:ctr-doctor demo user:${user.home}:/bin/sh\n`);
  await appendFile(path.join(root, 'etc/group'), `${user.name}:x:${DEMO_UID}:\n`);
  await mkdir(path.join(root, user.home), { recursive: true });
  await chown(path.join(root, user.home), DEMO_UID, DEMO_UID);
  return user;
}

/**
 * Breaks a fresh guest root the way the seed's containers were broken. `root` must be the
 * demo's own root (an overlay or a copy on its tmpfs): nothing here touches the host.
 */
export async function breakGuest(root: string): Promise<{ name: string; home: string }> {
  const resolv = path.join(root, 'etc/resolv.conf');
  await rm(resolv, { force: true });
  await writeFile(resolv, '', { mode: 0o644 });
  await rm(path.join(root, 'run/user', String(DEMO_UID)), { recursive: true, force: true });
  // An image build clears the id so each machine makes its own; in a chroot nothing ever does.
  const machineId = path.join(root, 'etc/machine-id');
  await rm(machineId, { force: true });
  await writeFile(machineId, '', { mode: 0o444 });
  await rm(path.join(root, 'var/lib/dbus/machine-id'), { force: true });
  return ensureDesktopUser(root);
}

/** The session environment of the demo's desktop process: a desktop-ish session that lost DISPLAY. */
export function demoSessionEnv(user: { name: string; home: string }): Record<string, string> {
  return {
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    SHELL: '/bin/sh',
    LANG: 'C.UTF-8',
    PATH: '/usr/local/bin:/usr/bin:/bin',
    XDG_SESSION_TYPE: 'x11',
    XDG_CURRENT_DESKTOP: 'GNOME',
    DESKTOP_SESSION: 'gnome',
    XDG_RUNTIME_DIR: `/run/user/${DEMO_UID}`,
    DBUS_SESSION_BUS_ADDRESS: `unix:path=/run/user/${DEMO_UID}/bus`,
  };
}
