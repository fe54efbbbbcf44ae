#!/usr/bin/env bash
# Installs what the test suite reads from the system: NIST CAVP vectors from Debian's
# python3-cryptography-vectors. Runs as `pretest`. Without root or apt (a developer's
# laptop) it only says so, and the CAVP tests report themselves skipped.
set -u
need=()
[ -d /usr/lib/python3/dist-packages/cryptography_vectors ] || need+=(python3-cryptography-vectors)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test-setup: installing ${need[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"; } >/tmp/edgekms-test-setup.log 2>&1 \
    || { echo "test-setup: apt-get failed (see /tmp/edgekms-test-setup.log)"; exit 1; }
else
  echo "test-setup: not root or no apt-get; skipping ${need[*]}"
fi
