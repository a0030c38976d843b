#!/usr/bin/env bash
# Installs the outside tools the tests drive when they are missing: the AWS CLI
# against `flowtop sandbox`, Graphviz's dot for `lineage --output dot`, jq over
# `tail` (Debian packages), and the pinned golangci-lint that `make lint` runs
# (built from the Go module proxy by `make tools`).
#
# Outside CI a tool that cannot be installed is reported and the checks that need
# it skip and say why. Under CI=true (as .ci/run is run) it fails instead, naming
# the tool, so that no check is silently skipped in CI; the tests themselves fail
# the same way when they find a tool missing under CI=true.
set -u
cd "$(dirname "$0")/.."

ci=false
case "${CI:-}" in "" | false | FALSE | 0) ;; *) ci=true ;; esac

# missing lists the Debian packages whose commands are not on PATH.
missing() {
  local need=()
  command -v aws >/dev/null 2>&1 || need+=(awscli)
  command -v dot >/dev/null 2>&1 || need+=(graphviz)
  command -v jq >/dev/null 2>&1 || need+=(jq)
  echo "${need[@]}"
}

why=""
need=$(missing)
if [ -n "$need" ]; then
  sudo=""
  if ! command -v apt-get >/dev/null 2>&1; then
    why="no apt-get here"
  elif [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo="sudo -n"
    else
      why="not root and no password-less sudo: run 'sudo apt-get install $need'"
    fi
  fi
  if [ -z "$why" ]; then
    echo "test-deps: installing $need (Debian packages)" >&2
    export DEBIAN_FRONTEND=noninteractive
    # Word splitting of $sudo and $need is intended.
    # shellcheck disable=SC2086
    $sudo apt-get update -qq >/dev/null 2>&1 || true
    # shellcheck disable=SC2086
    $sudo apt-get install -y -qq --no-install-recommends $need >/dev/null 2>&1 ||
      why="apt-get install $need failed"
  fi
  need=$(missing)
fi

lint_missing=""
if [ -n "${GOLANGCI_LINT:-}" ] && [ ! -x "$GOLANGCI_LINT" ]; then
  echo "test-deps: building golangci-lint ${GOLANGCI_LINT_VERSION:-} (go install, Go module proxy)" >&2
  "${MAKE:-make}" --no-print-directory tools >&2 || lint_missing="golangci-lint ${GOLANGCI_LINT_VERSION:-}"
fi

[ -z "$need" ] && [ -z "$lint_missing" ] && exit 0

still="$need${need:+${lint_missing:+ }}$lint_missing"
if [ "$ci" = true ]; then
  echo "test-deps: CI=true and could not install: $still${why:+ ($why)}; the tests that drive them would not run" >&2
  exit 1
fi
echo "test-deps: could not install: $still${why:+ ($why)}; the checks that need them will skip and say why" >&2
exit 0
