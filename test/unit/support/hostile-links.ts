import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The walk tests' hostile guest root, made in `base`: `root` with /etc/hosts, /run/x/target and, in
 * /etc, symlinks to that target (absolute and relative), out to `outside`/secret (absolute, and by
 * climbing with `..`), a loop, a dangling link and one to the root. Each test adds its own extras.
 */
export function makeHostileRoot(base: string): { root: string; outside: string } {
  const root = path.join(base, 'root');
  const outside = path.join(base, 'outside');
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  mkdirSync(path.join(root, 'run/x'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'secret'), 'HOST\n');
  writeFileSync(path.join(root, 'etc/hosts'), '127.0.0.1 localhost\n');
  writeFileSync(path.join(root, 'run/x/target'), 'target\n');
  const etc = (name: string): string => path.join(root, 'etc', name);
  symlinkSync('/run/x/target', etc('abs-link'));
  symlinkSync('../run/x/target', etc('rel-link'));
  symlinkSync(path.join(outside, 'secret'), etc('host-abs'));
  symlinkSync('../../../../../../../..' + path.join(outside, 'secret'), etc('host-dotdot'));
  symlinkSync('/etc/loop-b', etc('loop-a'));
  symlinkSync('/etc/loop-a', etc('loop-b'));
  symlinkSync('/nowhere', etc('dangling'));
  symlinkSync('/', etc('to-root'));
  return { root, outside };
}
