#!/usr/bin/env bash
# Installs the outside tools some tests drive (the AWS CLI against `flowtop
# sandbox`, Graphviz's dot for `lineage --output dot`, jq over `tail`) when they
# are missing and
# this machine can install Debian packages. Without them those tests skip and
# say why; nothing else depends on them.
set -u
need=()
command -v aws >/dev/null 2>&1 || need+=(awscli)
command -v dot >/dev/null 2>&1 || need+=(graphviz)
command -v jq >/dev/null 2>&1 || need+=(jq)
[ ${#need[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "test-deps: missing ${need[*]} and no apt-get here: the tests that need them will skip" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    echo "test-deps: missing ${need[*]}; run 'sudo apt-get install ${need[*]}' to run the tests that need them" >&2
    exit 0
  fi
fi
echo "test-deps: installing ${need[*]} (Debian packages)" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null 2>&1 || true
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
  echo "test-deps: could not install ${need[*]}: the tests that need them will skip" >&2
exit 0
