import { describe, expect, it } from 'vitest';
import { parseIpcmkShmid, parseSysvShm } from '../../../src/parse/sysvipc-shm.js';
import { parseUnixListeners } from '../../../src/parse/proc-net-unix.js';

// Real text from this kernel's /proc/sysvipc/shm: one segment never attached, one the X server attached.
const SHM = `       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap
  88341291          0   600                  4096 14529     0      0     0     0     0     0          0          0 1796125101                     0                     0
 687750798          2   666                  4096 16007 14496      1  1000  1000  1000  1000 1796125111 1796125111 1796125111                  4096                     0
`;

describe('parseSysvShm', () => {
  it('reads ids, octal modes, pids and the attach time', () => {
    const [a, b] = parseSysvShm(SHM);
    expect(a).toEqual({ shmid: 0, mode: 0o600, bytes: 4096, creatorPid: 14529, lastPid: 0, attaches: 0, uid: 0, gid: 0, attachTime: 0 });
    expect(b).toMatchObject({ shmid: 2, mode: 0o666, lastPid: 14496, attaches: 1, uid: 1000, attachTime: 1796125111 });
  });
  it('skips short or non-numeric lines', () => {
    expect(parseSysvShm(`${SHM.split('\n')[0]}\n1 2 3\n x y z a b c d e f g h i j k\n`)).toEqual([]);
  });
});

describe('parseIpcmkShmid', () => {
  it('takes the id util-linux prints', () => {
    expect(parseIpcmkShmid('Shared memory id: 32769\n')).toBe(32769);
    expect(parseIpcmkShmid('ipcmk: create share memory failed: Permission denied\n')).toBeNull();
  });
});

describe('parseUnixListeners', () => {
  it('keeps listening sockets with their names, abstract ones with @', () => {
    const text = [
      'Num       RefCount Protocol Flags    Type St Inode Path',
      '0000000000000000: 00000002 00000000 00010000 0001 01 9000 /tmp/.X11-unix/X0',
      '0000000000000000: 00000002 00000000 00010000 0001 01 9001 @/tmp/.X11-unix/X0',
      '0000000000000000: 00000003 00000000 00000000 0001 03 9002 /tmp/.X11-unix/X0',
      '0000000000000000: 00000002 00000000 00010000 0001 01 9003',
      '0000000000000000: 00000002 00000000 00010000 0001 01 9004 /tmp/with space',
    ].join('\n');
    expect(parseUnixListeners(text)).toEqual([
      { inode: 9000, path: '/tmp/.X11-unix/X0' },
      { inode: 9001, path: '@/tmp/.X11-unix/X0' },
      { inode: 9004, path: '/tmp/with space' },
    ]);
  });
});
