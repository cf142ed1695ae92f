#!/usr/bin/env bash
# Runs the whole test suite. Installs what the tests need first: dnssec-verify (bind9-utils)
# cross-checks the lab's signer, dig (bind9-dnsutils) drives end-to-end checks.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v dnssec-verify >/dev/null 2>&1 || need+=(bind9-utils)
command -v dig >/dev/null 2>&1 || need+=(bind9-dnsutils)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/test.sh: missing ${need[*]}; install them (apt-get install ${need[*]}) or run as root" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

cargo test --all-targets
