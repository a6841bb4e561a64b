/** A System V shared memory segment, as `/proc/sysvipc/shm` shows it in its IPC namespace. */
export interface ShmSegmentState {
  shmid: number;
  /** Permission bits (0600…). */
  mode: number;
  bytes: number;
  /** Creator's pid and the pid of the last shmat/shmdt, in the reader's pid namespace (0: none yet). */
  creatorPid: number;
  lastPid: number;
  /** How many processes have it attached now. */
  attaches: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch of the last shmat (0: never attached). */
  attachTime: number;
}

/**
 * Parses `/proc/sysvipc/shm`: a header line, then one line per segment
 * (`key shmid perms size cpid lpid nattch uid gid cuid cgid atime dtime ctime …`). Bad lines are skipped.
 */
export function parseSysvShm(text: string): ShmSegmentState[] {
  const out: ShmSegmentState[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14) continue;
    const n = f.map(Number);
    if (n.slice(1, 14).some((v) => !Number.isInteger(v) || v < 0)) continue;
    out.push({
      shmid: n[1]!,
      mode: Number.parseInt(f[2]!, 8),
      bytes: n[3]!,
      creatorPid: n[4]!,
      lastPid: n[5]!,
      attaches: n[6]!,
      uid: n[7]!,
      gid: n[8]!,
      attachTime: n[11]!,
    });
  }
  return out;
}

/** The segment id util-linux's `ipcmk -M` prints ("Shared memory id: 5"), or null. */
export function parseIpcmkShmid(stdout: string): number | null {
  const m = /Shared memory id:\s*(\d+)\s*$/m.exec(stdout);
  return m ? Number(m[1]) : null;
}
