#!/bin/sh
# Installs the system packages the test suite drives for real: schroot, systemd-nspawn,
# ping, dig, Xvfb and xauth, PulseAudio, dconf, dnsmasq, bubblewrap, podman.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2046 # one word per package, on purpose
apt-get install -y --no-install-recommends $(grep -v '^#' "$(dirname "$0")/test-packages.txt")
