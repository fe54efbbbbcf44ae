#!/usr/bin/env bash
# Installs what the test suite needs from the system: NIST CAVP vectors (Debian's
# python3-cryptography-vectors), the real AWS CLI v2 (Debian's awscli, /usr/bin/aws) and
# boto3 (Debian's python3-boto3, for /usr/bin/python3) for the end-to-end tests, and Debian's
# Chromium (/usr/bin/chromium) for the console's browser test (driven by playwright-core).
# Runs as `pretest`. Without root or apt it only says so.
set -u
need=()
[ -d /usr/lib/python3/dist-packages/cryptography_vectors ] || need+=(python3-cryptography-vectors)
[ -x /usr/bin/aws ] || need+=(awscli)
/usr/bin/python3 -c "import boto3" 2>/dev/null || need+=(python3-boto3)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test-setup: installing ${need[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"; } >/tmp/edgekms-test-setup.log 2>&1 \
    || { echo "test-setup: apt-get failed (see /tmp/edgekms-test-setup.log)"; exit 1; }
else
  echo "test-setup: not root or no apt-get; cannot install ${need[*]} (the tests that use them will fail)"
fi
