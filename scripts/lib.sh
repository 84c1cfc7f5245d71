# Shared helpers for the harness scripts (sourced, not run).
# shellcheck shell=bash

PRODREADY_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Caches outside the clone, so a fresh clone (CI) on the same machine reuses them.
PRODREADY_CACHE=${PRODREADY_CACHE:-/var/cache/prodready}
PRODREADY_VENV=${PRODREADY_VENV:-$PRODREADY_ROOT/.venv}
# Every container, network and image the harness makes carries this label, so a
# killed run's leftovers can be found and removed without touching anything else.
PRODREADY_LABEL=prodready.harness=1
# Debian releases the roles support: "<major>:<suite>"; the first is the primary.
PRODREADY_DISTROS=(13:trixie 12:bookworm)
PRODREADY_MIRROR=${PRODREADY_MIRROR:-http://deb.debian.org/debian}

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Seconds since the epoch, for the timings the scripts print.
now() { date +%s; }

# apt-get install what is missing, in one transaction.
apt_ensure() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "Installing ${missing[*]} with apt"
  [ "$(id -u)" -eq 0 ] || die "installing ${missing[*]} needs root (run as root or install them first)"
  # Packages that ship a service (redis-server, mariadb-server) must not start it here: the
  # tests start their own servers on free ports. policy-rc.d tells maintainer scripts so.
  local policy=/usr/sbin/policy-rc.d made_policy=0 rc=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; made_policy=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  [ "$made_policy" -eq 1 ] && rm -f "$policy"
  [ "$rc" -eq 0 ] || die "apt-get install ${missing[*]} failed"
}

# Start dockerd unless one already answers. A dockerd from an earlier session may
# have been killed and left its pid file behind; dockerd refuses to start then.
docker_ensure() {
  if docker info >/dev/null 2>&1; then return 0; fi
  say "Starting dockerd"
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
  fi
  mkdir -p "$PRODREADY_CACHE"
  nohup dockerd >"$PRODREADY_CACHE/dockerd.log" 2>&1 &
  local i
  for i in $(seq 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  tail -n 20 "$PRODREADY_CACHE/dockerd.log" >&2
  die "dockerd did not answer within 60 s (log: $PRODREADY_CACHE/dockerd.log)"
}

# Remove containers and networks of ours left by a run that was killed.
docker_clean_stale() {
  local ids
  # Test hosts left by a killed run; the demo hosts (label prodready.local) are kept.
  ids=$(docker ps -a --filter "label=$PRODREADY_LABEL" --format '{{.ID}} {{.Label "prodready.local"}}' \
        | awk '$2 == "" {print $1}')
  [ -n "$ids" ] && docker rm -f $ids >/dev/null
  ids=$(docker network ls -q --filter "label=$PRODREADY_LABEL")
  [ -n "$ids" ] && docker network rm $ids >/dev/null
  return 0
}

venv_activate() {
  [ -x "$PRODREADY_VENV/bin/ansible-playbook" ] || die "no venv at $PRODREADY_VENV: run scripts/setup first"
  # shellcheck disable=SC1091
  . "$PRODREADY_VENV/bin/activate"
  export ANSIBLE_CONFIG="$PRODREADY_ROOT/ansible.cfg"
}
