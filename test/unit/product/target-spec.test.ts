import { describe, expect, test } from 'vitest';
import { parseTargetSpec } from '../../../src/targets/target-spec.js';
import { TargetError } from '../../../src/targets/target-error.js';

describe('parseTargetSpec', () => {
  test.each([
    [undefined, { kind: 'auto' }],
    ['', { kind: 'auto' }],
    ['self', { kind: 'self' }],
    ['chroot:/srv/guest', { kind: 'chroot', dir: '/srv/guest' }],
    ['chroot:/srv/with:colon', { kind: 'chroot', dir: '/srv/with:colon' }],
    ['/srv/guest', { kind: 'chroot', dir: '/srv/guest' }],
    ['./guest', { kind: 'chroot', dir: './guest' }],
    ['sub/dir', { kind: 'chroot', dir: 'sub/dir' }],
    ['schroot:bookworm', { kind: 'schroot', name: 'bookworm' }],
    ['schroot:chroot:bookworm', { kind: 'schroot', name: 'bookworm' }],
    ['session:bookworm-1', { kind: 'session', id: 'bookworm-1' }],
    ['session:session:bookworm-1', { kind: 'session', id: 'bookworm-1' }],
    ['nspawn:mybox', { kind: 'nspawn', name: 'mybox' }],
    ['pid:1234', { kind: 'pid', pid: 1234 }],
    ['podman:web', { kind: 'podman', name: 'web' }],
    ['docker:0123abcd', { kind: 'docker', name: '0123abcd' }],
  ])('%j → %j', (raw, spec) => {
    expect(parseTargetSpec(raw)).toEqual(spec);
  });

  test.each([
    'pid:',
    'pid:0',
    'pid:-3',
    'pid:12x',
    'pid:1.5',
    'chroot:',
    'schroot:',
    'session:',
    'nspawn:',
    'podman:',
    'docker:',
    'guest',
    'lxc:box',
    'http:x',
  ])('%j is a TargetError with a hint', (raw) => {
    let err: unknown;
    try {
      parseTargetSpec(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TargetError);
    expect((err as TargetError).message).not.toContain('\n');
    expect((err as TargetError).hint).toContain('pid:N');
  });
});
