/** A listening unix socket from /proc/net/unix: its inode and the name it is bound to (`@name` for abstract ones). */
export interface UnixListener {
  inode: number;
  path: string;
}

/**
 * The listening sockets of a /proc/net/unix listing (`Num RefCount Protocol Flags Type St Inode Path`):
 * flags 00010000 is __SO_ACCEPTCON. Unbound sockets and bad lines are skipped.
 */
export function parseUnixListeners(text: string): UnixListener[] {
  const out: UnixListener[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || f[3] !== '00010000') continue;
    const inode = Number(f[6]);
    if (!Number.isInteger(inode) || inode <= 0) continue;
    out.push({ inode, path: f.slice(7).join(' ') });
  }
  return out;
}
