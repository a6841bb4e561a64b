/** Request and response of the `api-fs` probe (src/guest/probes/api-fs.ts). Guest paths are walked inside the root by the probe. */
export interface ApiFsRequest {
  /** Directories to statfs: their filesystem's magic number and free space. */
  statfs: string[];
  /** Nodes to lstat and, for char devices, open read-write. */
  nodes: string[];
  /** Whether to readlink /proc/self/exe through the guest's /proc. */
  selfExe: boolean;
  /** Open a pty master here and look at its slave in `ptsDir`. */
  pty: { ptmx: string; ptsDir: string } | null;
  /** Create, size and write a file of `bytes` in `dir`, then remove it. */
  shm: { dir: string; bytes: number } | null;
}

/** One statfs answer; `type` is f_type (0x9fa0 procfs, 0x62656572 sysfs, 0x1cd1 devpts, 0x01021994 tmpfs). */
export interface FsInfo {
  path: string;
  /** The path after following symlinks inside the root (e.g. /run/shm for a linked /dev/shm). */
  resolved: string | null;
  type: number | null;
  bsize: number;
  blocks: number;
  bavail: number;
  /** Mode and owner of the directory itself. */
  mode: number | null;
  uid: number | null;
  errno: string | null;
}

export interface NodeInfo {
  path: string;
  type: 'missing' | 'char' | 'block' | 'file' | 'directory' | 'symlink' | 'socket' | 'fifo' | 'unknown';
  major: number | null;
  minor: number | null;
  mode: number;
  uid: number | null;
  /** The node's group as the guest sees it (65534 when the guest's user namespace does not map it). */
  gid?: number | null;
  /** Size in bytes (a clobbered /dev/null holds what was written to it). */
  size: number;
  /** The errno of open(O_RDWR) as the prober (or of lstat for a missing node); null when it opened or was not tried. */
  openErrno: string | null;
}

export interface PtyInfo {
  /** The master opened. */
  ok: boolean;
  errno: string | null;
  index: number | null;
  slave: { uid: number; gid: number; mode: number } | null;
}

export interface ShmInfo {
  stage: 'create' | 'write' | 'done';
  errno: string | null;
}

export interface ApiFsResponse {
  filesystems: FsInfo[];
  nodes: NodeInfo[];
  selfExe: { readable: boolean; errno: string | null } | null;
  pty: PtyInfo | null;
  shm: ShmInfo | null;
  /** Who the probe ran as, for evidence. */
  uid: number;
  /** The probe's supplementary groups: a guest's /etc/group gives it only those the host account also has (audit M2). */
  groups?: number[];
}
