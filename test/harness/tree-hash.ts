/**
 * A fingerprint of a directory tree or a few files: every path with its type, mode,
 * owner, size and content hash (or symlink target). Two equal fingerprints mean no
 * byte, mode, owner or link changed. Symlinks are never followed; mount points below
 * the top are not crossed.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

function describe(p: string, dev: number | null): { line: string; dir: boolean } {
  const st = lstatSync(p, { throwIfNoEntry: false });
  if (!st) return { line: `${p} absent`, dir: false };
  const head = `${p} mode=${(st.mode & 0o7777).toString(8)} owner=${st.uid}:${st.gid}`;
  if (st.isSymbolicLink()) return { line: `${head} link -> ${readlinkSync(p)}`, dir: false };
  if (st.isDirectory()) return { line: `${head} dir`, dir: dev === null || st.dev === dev };
  if (st.isFile()) return { line: `${head} file ${st.size} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`, dir: false };
  return { line: `${head} special`, dir: false };
}

/** Fingerprint lines of the tree at `top` (sorted, one per path). */
export function treeFingerprint(top: string): string[] {
  const root = lstatSync(top);
  const lines: string[] = [];
  const walk = (p: string): void => {
    const d = describe(p, root.dev);
    lines.push(d.line);
    if (d.dir) for (const name of readdirSync(p).sort()) walk(join(p, name));
  };
  walk(top);
  return lines;
}

/** Fingerprint lines of single files (missing ones say so). */
export function filesFingerprint(paths: string[]): string[] {
  return paths.map((p) => describe(p, null).line);
}
