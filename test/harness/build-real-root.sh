#!/bin/bash
# Build one genuine Debian root with debootstrap and pack it as a zstd tarball.
# Usage: build-real-root.sh SUITE INCLUDE USER OUT.tar.zst
# Called by test/harness/real-root.ts when the cache lacks OUT; writes OUT atomically.
set -euo pipefail
suite=$1 include=$2 user=$3 out=$4
mirror=${CTD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Another test process may have built it while we waited for the lock.
[ -s "$out" ] && exit 0
mkdir -p "$(dirname "$out")"
work=$(mktemp -d /var/tmp/ctd-real-root.XXXXXX)
cleanup() {
  # debootstrap mounts proc and sys in the target; a failed run can leave them.
  local m
  for m in $(findmnt -rn -o TARGET | grep -F "$work/" | sort -r || true); do umount -l "$m" || true; done
  rm -rf --one-file-system "$work" "$out.part"
}
trap cleanup EXIT
debootstrap --variant=minbase --include="$include" "$suite" "$work/root" "$mirror" >"$work/log" 2>&1 \
  || { tail -n 30 "$work/log" >&2; exit 1; }
chroot "$work/root" useradd -m -u 1000 -s /bin/bash "$user"
# Each unpacked copy must get its own machine id (two Juno guests share a namespace).
: >"$work/root/etc/machine-id"
rm -f "$work/root/var/lib/dbus/machine-id"
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
tar -C "$work/root" --numeric-owner --xattrs --xattrs-include='*' -cf - . | zstd -q -T0 -3 -o "$out.part"
mv "$out.part" "$out"
