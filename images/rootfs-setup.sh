#!/bin/sh
# Runs inside the freshly debootstrapped root (chroot) to make it a systemd test host that
# behaves like a new Debian VPS. Part of the image recipe: editing this file rebuilds the images.
set -eu
suite=$1
mirror=$2

# Sources as on a real server: the release, its updates and security suites.
rm -f /etc/apt/sources.list
cat >/etc/apt/sources.list.d/debian.sources <<SRC
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC

# The harness mounts one package cache into every container: keep what apt downloads.
cat >/etc/apt/apt.conf.d/90prodready-cache <<'APT'
APT::Keep-Downloaded-Packages "true";
Binary::apt::APT::Keep-Downloaded-Packages "true";
APT

# Units that cannot work in a container and only add failed units to `systemctl`.
for unit in systemd-remount-fs.service getty.target console-getty.service \
            systemd-firstboot.service systemd-udevd.service systemd-modules-load.service; do
  ln -sf /dev/null "/etc/systemd/system/$unit"
done

# Every container gets its own machine id and SSH host keys at first boot, not the image's.
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id /etc/ssh/ssh_host_*
cat >/etc/systemd/system/prodready-ssh-hostkeys.service <<'UNIT'
[Unit]
Description=Generate this host's SSH host keys
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/prodready-ssh-hostkeys.service \
  /etc/systemd/system/multi-user.target.wants/prodready-ssh-hostkeys.service

echo prodready-test >/etc/hostname
apt-get clean
rm -rf /var/lib/apt/lists/* /var/lib/apt/periodic/* /var/log/*.log /var/cache/debconf/*-old
# No package lists, and nothing that says they are fresh: the first apt run refreshes them,
# as it would on a VPS whose image was built long ago.
touch -d @0 /var/lib/apt/lists
