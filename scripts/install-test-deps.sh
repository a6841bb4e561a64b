#!/bin/sh
# Installs the system packages the test suite drives for real: schroot, systemd-nspawn,
# ping, dig, Xvfb and xauth, PulseAudio, dconf, dnsmasq, bubblewrap.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
  iproute2 util-linux procps psmisc time \
  iputils-ping bind9-dnsutils dnsmasq-base \
  schroot systemd systemd-container dbus \
  xvfb x11-utils xauth \
  pulseaudio pulseaudio-utils \
  dconf-cli libglib2.0-bin \
  bubblewrap podman runc
