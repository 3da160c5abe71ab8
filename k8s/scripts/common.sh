# Shared by up.sh, down.sh and status.sh (sourced, not run). Builtins only, apart
# from minikube, kubectl, docker and git themselves, and mktemp and rm.
# shellcheck shell=bash

# The minikube profile, which is also the name of its kubectl context.
PROFILE="${MINIKUBE_PROFILE:-minikube}"

# The repository root, whatever the caller's working directory.
script_dir="${BASH_SOURCE[0]%/*}"
[[ "$script_dir" == "${BASH_SOURCE[0]}" ]] && script_dir=.
# shellcheck disable=SC2034 # used by the scripts that source this file
ROOT="$(cd "$script_dir/../.." && pwd)"

log() { printf '==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# need TOOL HINT: stop with an explanation when TOOL is not installed.
need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is not installed or not on PATH. $2"
}

need_minikube() {
  need minikube "Install it from https://minikube.sigs.k8s.io/docs/start/ and run 'minikube start'."
}

need_kubectl() {
  need kubectl "Install it from https://kubernetes.io/docs/tasks/tools/ (minikube can also provide it: 'minikube kubectl -- version')."
}

# Every kubectl call goes to the minikube profile's context, whatever the current one is.
k() { kubectl --context "$PROFILE" "$@"; }
