import { lstat, readdir } from 'node:fs/promises';
import { DESKTOP_DEVICE_DIRS, DESKTOP_DEVICE_NAMES, type HostDeviceNode } from '../core/host.js';
import { parseGetfacl } from '../parse/getfacl.js';
import { hostProgram } from './host-programs.js';
import { runCommand } from './run-command.js';

// glibc's major()/minor() for a 64-bit dev_t.
const major = (rdev: number): number => Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
const minor = (rdev: number): number => Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));

/** More nodes than any real GPU and sound setup has: a /dev that holds more is not read further. */
const MAX_NODES = 512;

async function charNode(path: string): Promise<Omit<HostDeviceNode, 'acl' | 'aclMask' | 'aclGroup'> | null> {
  const s = await lstat(path).catch(() => null);
  if (!s?.isCharacterDevice()) return null;
  return { path, major: major(s.rdev), minor: minor(s.rdev), mode: s.mode & 0o7777, uid: s.uid, gid: s.gid };
}

/**
 * The host's desktop device nodes: the char devices directly in /dev/dri and /dev/snd (their
 * by-path links are left out) and /dev/kfd, /dev/nvidia*, /dev/video*, with their ACLs read by
 * getfacl in one run (the system.posix_acl_access xattr: logind's uaccess grants the seat's user).
 */
export async function listDeviceNodes(timeoutMs: number): Promise<HostDeviceNode[]> {
  const paths: string[] = [];
  for (const dir of DESKTOP_DEVICE_DIRS) for (const name of (await readdir(dir).catch(() => [])).sort()) paths.push(`${dir}/${name}`);
  for (const name of (await readdir('/dev').catch(() => [])).sort()) if (DESKTOP_DEVICE_NAMES.test(name)) paths.push(`/dev/${name}`);
  const nodes = (await Promise.all(paths.slice(0, MAX_NODES).map(charNode))).filter((n) => n !== null);
  if (nodes.length === 0) return [];
  const getfacl = hostProgram('getfacl');
  const acls = getfacl
    ? await runCommand([getfacl, '--numeric', '--absolute-names', '--', ...nodes.map((n) => n.path)], { timeoutMs }).then((r) =>
        r.exitCode === 0 ? parseGetfacl(r.stdout) : null,
      )
    : null;
  return nodes.map((n) => {
    const acl = acls?.get(n.path);
    return { ...n, acl: acl ? acl.entries : null, aclMask: acl?.mask ?? null, aclGroup: acl?.mask ? acl.owningGroup : null };
  });
}
