#!/usr/bin/env bash
# npm run k8s:up — builds imgfleet's three images into minikube, whatever its container
# runtime (docker, containerd, CRI-O), tagged <package version>-<commit>; makes the
# PostgreSQL Secret with a random password when there is none; deploys
# k8s/overlays/minikube with those tags; waits for every rollout; prints the URL.
#   MINIKUBE_PROFILE      minikube profile (and kubectl context) to use; default minikube
#   MINIKUBE_START_ARGS   arguments for 'minikube start' when it is not running,
#                         e.g. "--cpus=4 --memory=6g"
set -euo pipefail

# shellcheck source=k8s/scripts/common.sh
source "${BASH_SOURCE[0]%/*}/common.sh"
cd "$ROOT"
# shellcheck source=k8s/scripts/images.sh
source "$ROOT/k8s/scripts/images.sh"

OVERLAY=k8s/overlays/minikube
SECRET_NAME=postgres-secret
# Each workload and the image it runs.
WORKLOADS=(deployment/image-processor:image-processor statefulset/postgres:postgres-db deployment/imgfleet-runtime:imgfleet-runtime)

need_minikube
need_kubectl
remember_image_tags

if ! minikube -p "$PROFILE" status >/dev/null 2>&1; then
  log "minikube ($PROFILE) is not running: starting it"
  read -r -a start_args <<<"${MINIKUBE_START_ARGS:-}"
  # (the ${a[@]+...} form: an empty array under `set -u` is an error in macOS's bash 3.2)
  minikube -p "$PROFILE" start ${start_args[@]+"${start_args[@]}"}
fi

# ---- images ------------------------------------------------------------------------

# build_with_docker NAME DOCKERFILE CONTEXT: against minikube's own Docker engine
# (docker-env), as the earlier system built them: nothing to copy afterwards.
build_with_docker() {
  local ref
  ref="$(image_ref "$1")"
  log "docker build -t $ref -f $2 $3"
  docker build -t "$ref" -f "$2" "$3"
}

# build_with_minikube NAME DOCKERFILE CONTEXT: `minikube image build`, which builds on
# the node with its own runtime's builder (docker, BuildKit for containerd, podman for
# CRI-O). It reads the Dockerfile inside the context it copies there.
build_with_minikube() {
  local ref file="$2"
  ref="$(image_ref "$1")"
  if [[ "$3" != . ]]; then
    [[ "$file" == "$3"/* ]] || die "$file is not inside its build context $3"
    file="${file#"$3"/}"
  fi
  log "minikube image build -t $ref -f $file $3"
  minikube -p "$PROFILE" image build -t "$ref" -f "$file" "$3"
}

# The node's container runtime, e.g. containerd://1.7.23.
runtime="$(k get nodes -o jsonpath='{.items[0].status.nodeInfo.containerRuntimeVersion}')" ||
  die "cannot ask the cluster which container runtime minikube ($PROFILE) runs: is 'kubectl --context $PROFILE get nodes' working?"
runtime="${runtime%%://*}"
[[ -n "$runtime" ]] || die "minikube ($PROFILE) has no node yet: 'minikube -p $PROFILE status' says why"

builder=build_with_minikube
if [[ "$runtime" == docker ]] && command -v docker >/dev/null 2>&1; then
  if docker_env="$(minikube -p "$PROFILE" docker-env --shell bash)"; then
    eval "$docker_env"
    builder=build_with_docker
    log "minikube runs Docker: building with its engine (minikube docker-env)"
  else
    warn "minikube docker-env failed: building with 'minikube image build' instead"
  fi
else
  log "minikube runs $runtime: building with 'minikube image build' on the node"
fi
for_each_image "$builder"

# Every image must be in minikube under the name the pods ask for (docker.io/library/
# NAME:TAG): `minikube image build` exits 0 even when a build failed, and a missing
# image would leave its pods in ErrImagePull until a rollout timed out.
# shellcheck disable=SC2329 # called through for_each_image
check_image() {
  local ref line
  ref="$(image_ref "$1")"
  while IFS= read -r line; do
    [[ "$line" == "$ref" || "$line" == "docker.io/library/$ref" ]] && return 0
  done <<<"$images_in_minikube"
  missing+=("$ref")
}
images_in_minikube="$(minikube -p "$PROFILE" image ls)" || die "'minikube -p $PROFILE image ls' failed"
missing=()
for_each_image check_image
if ((${#missing[@]} > 0)); then
  die "${missing[*]} did not reach minikube (the build output above says why: 'minikube image build' reports a failed build but exits 0). Nothing was deployed."
fi

# ---- the PostgreSQL Secret -----------------------------------------------------------

# random_password LENGTH: letters and digits from /dev/urandom (builtins only).
random_password() {
  local LC_ALL=C chunk='' out=''
  while ((${#out} < $1)); do
    IFS= read -r -d '' -n 64 chunk </dev/urandom || true
    out+="${chunk//[^A-Za-z0-9]/}"
  done
  printf '%s' "${out:0:$1}"
}

# The earlier system's Secret (name and keys), made only when missing: one a user
# created first is theirs, and PostgreSQL took its password when it initialised its
# volume. The password goes to kubectl on standard input, never on a command line,
# and is never printed; `kubectl create` (not apply) keeps no copy in an annotation.
found="$(k get secret "$SECRET_NAME" --ignore-not-found -o name)" ||
  die "cannot read Secrets in the cluster ('kubectl --context $PROFILE get secret $SECRET_NAME')"
if [[ -n "$found" ]]; then
  log "$SECRET_NAME exists: kept"
else
  password="$(random_password 32)"
  k create -f - <<SECRET
apiVersion: v1
kind: Secret
metadata:
  name: $SECRET_NAME
  labels:
    app.kubernetes.io/part-of: imgfleet
type: Opaque
stringData:
  username: postgres
  password: "$password"
SECRET
  unset password
  log "made $SECRET_NAME with a random password (kept by k8s:down; 'npm run k8s:down -- --purge' deletes it with the data)"
fi

# ---- deploy --------------------------------------------------------------------------

# The HorizontalPodAutoscaler reads CPU usage from metrics-server.
minikube -p "$PROFILE" addons enable metrics-server >/dev/null 2>&1 ||
  warn "could not enable metrics-server: the autoscaler will show <unknown> targets"

# A workload already running the tag just built again (a -dirty or -local one) does
# not change with the apply: restart it afterwards so that it runs the new image.
restart=()
for entry in "${WORKLOADS[@]}"; do
  current="$(k get "${entry%%:*}" -o jsonpath='{.spec.template.spec.containers[0].image}' 2>/dev/null || true)"
  ref="$(image_ref "${entry#*:}")"
  if [[ "$current" == "$ref" ]] && mutable_tag "${ref#*:}"; then restart+=("${entry%%:*}"); fi
done

# The overlay with the tags just built: a kustomization of its own, in a temporary
# folder, naming the overlay by a relative path (kustomize takes no absolute one).
deploy_dir="$(mktemp -d "${TMPDIR:-/tmp}/imgfleet-deploy.XXXXXX")"
trap 'rm -rf "$deploy_dir"' EXIT
up='' dir="$deploy_dir"
while [[ "$dir" != / && -n "$dir" ]]; do
  up+='../'
  dir="${dir%/*}"
done
# shellcheck disable=SC2329 # called through for_each_image
image_entry() { printf '  - name: %s\n    newTag: "%s"\n' "$1" "$(image_tag "$1")"; }
{
  printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n'
  printf '  - %s%s/%s\n' "$up" "${ROOT#/}" "$OVERLAY"
  printf 'images:\n'
  for_each_image image_entry
} >"$deploy_dir/kustomization.yaml"

refs=''
for entry in "${WORKLOADS[@]}"; do refs+=" $(image_ref "${entry#*:}")"; done
log "kubectl apply -k $OVERLAY with the images${refs}"
if ! output="$(k apply -k "$deploy_dir" 2>&1)"; then
  printf '%s\n' "$output" >&2
  # An installation from before the resized PostgreSQL volume: a StatefulSet's claim
  # templates cannot change. Replace the StatefulSet and keep its pod and volume.
  [[ "$output" == *'StatefulSet "postgres" is invalid'*'updates to statefulset spec for fields other than'* ]] ||
    die "kubectl apply failed (above)"
  log "the postgres StatefulSet predates this volume claim template: replacing it (--cascade=orphan)"
  k delete statefulset postgres --cascade=orphan
  output="$(k apply -k "$deploy_dir")"
  log "postgres-0 kept its volume (data-postgres-0) at its earlier size: a claim is never shrunk"
fi
printf '%s\n' "$output"
if ((${#restart[@]} > 0)); then
  log "restarting ${restart[*]} on the images rebuilt under the same tag"
  k rollout restart "${restart[@]}"
fi

# wait_for KIND/NAME TIMEOUT
wait_for() {
  log "waiting for $1"
  if ! k rollout status "$1" --timeout="$2"; then
    k get pods -l app.kubernetes.io/part-of=imgfleet -o wide || true
    die "$1 did not become ready within $2. Look at 'kubectl describe ${1/\// }', 'kubectl get events --sort-by=.metadata.creationTimestamp' and the pods' logs."
  fi
}
wait_for statefulset/postgres 300s
wait_for deployment/redis 180s
wait_for deployment/image-processor 300s
wait_for deployment/imgfleet-runtime 180s

log "imgfleet is running"
k get pods -l app.kubernetes.io/part-of=imgfleet -o wide
printf '\nLogs:    kubectl logs -f deployment/image-processor\n'
printf 'Status:  npm run k8s:status\n'
printf 'Remove:  npm run k8s:down\n\n'
log "minikube service image-processor --url (with the docker driver on macOS or Windows, keep this terminal open)"
minikube -p "$PROFILE" service image-processor --url
