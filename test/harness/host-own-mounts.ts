/**
 * The host's own mounts, for "nothing changed on the host" assertions while other
 * test runs (worlds, sessions, machines) come and go on the same machine.
 */
import { readFileSync } from 'node:fs';
import { unescapeMountPath } from './snapshot.js';

/** Mount points of resources every harness world (any id) and every `ctr-doctor demo` makes. */
const WORLD_RESOURCES =
  /^(\/tmp\/ctrtest-|\/tmp\/ctr-doctor-demo-|\/run\/netns\/ctd-|\/run\/netns\/ctr-doctor-demo-|\/run\/schroot\/mount\/ctd-|\/var\/run\/schroot\/mount\/ctd-|\/run\/systemd\/nspawn)/;

/**
 * `mountpoint fstype source propagation` of every mount that belongs to the host itself,
 * sorted; the propagation fields are kept, so a mount turned shared or slave shows up too.
 */
export function hostOwnMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [pre, post = ''] = line.split(' - ');
      const f = pre!.split(' ');
      const mp = unescapeMountPath(f[4] ?? '');
      const [fstype, source] = post.split(' ');
      return `${mp} ${fstype} ${source} ${f.slice(6).join(',') || 'private'}`;
    })
    .filter((m) => !WORLD_RESOURCES.test(m))
    .sort();
}
