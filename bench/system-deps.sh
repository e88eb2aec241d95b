#!/usr/bin/env bash
# Installs the Debian packages `make bench` drives, only when missing: wrk (HTTP load),
# nginx (the static-file peer), postfix (its smtp-sink/smtp-source tools) and postgresql
# (the bench starts its own throwaway cluster, like the tests). None of
# them is started as a service: a temporary policy-rc.d forbids invoke-rc.d from starting
# anything during the install, and postfix is preseeded as "No configuration", so no
# mail system is set up. The bench starts its own nginx and smtp-sink on loopback.
set -euo pipefail
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
[ -x /usr/sbin/smtp-sink ] && [ -x /usr/sbin/smtp-source ] || need+=(postfix)
# The burst is also measured on a PostgreSQL store (a throwaway cluster the bench starts).
{ command -v initdb >/dev/null || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; } \
  || need+=(postgresql)
[ ${#need[@]} -eq 0 ] && exit 0
echo "bench: installing Debian packages: ${need[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
policy=/usr/sbin/policy-rc.d
created=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# temporary, from lichnhac bench/system-deps.sh\nexit 101\n' \
    | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  created=1
fi
cleanup() { if [ -n "$created" ]; then $SUDO rm -f "$policy"; fi; }
trap cleanup EXIT
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
# Another apt may hold the dpkg lock on a shared machine: wait for it rather than fail.
apt_get() { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"; }
apt_get update -qq
apt_get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
