import { symlinkSync } from 'node:fs';
import path from 'node:path';

/**
 * The symlinks of the walk tests' hostile guest root, in `root`/etc: to the guest file `/run/x/target`
 * (absolute and relative), out to `outside`/secret (absolute, and by climbing with `..`), a loop,
 * a dangling link and one to the root. The caller makes /run/x/target, /etc and `outside`/secret.
 */
export function makeHostileLinks(root: string, outside: string): void {
  const etc = (name: string): string => path.join(root, 'etc', name);
  symlinkSync('/run/x/target', etc('abs-link'));
  symlinkSync('../run/x/target', etc('rel-link'));
  symlinkSync(path.join(outside, 'secret'), etc('host-abs'));
  symlinkSync('../../../../../../../..' + path.join(outside, 'secret'), etc('host-dotdot'));
  symlinkSync('/etc/loop-b', etc('loop-a'));
  symlinkSync('/etc/loop-a', etc('loop-b'));
  symlinkSync('/nowhere', etc('dangling'));
  symlinkSync('/', etc('to-root'));
}
