import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The package ships docs/ beside dist/: the bundle is dist/bundle/, the compiled tree dist/src/docs/.
const CANDIDATES = ['../../docs/checks.md', '../../../docs/checks.md'];

/** The path of the installed docs/checks.md, or null when the package was installed without it. */
export function checksDocPath(): string | null {
  for (const rel of CANDIDATES) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  return null;
}

/** docs/checks.md as a file: URL, for links from the report's finding codes. */
export function checksDocUrl(): string | null {
  const path = checksDocPath();
  return path === null ? null : pathToFileURL(path).href;
}
