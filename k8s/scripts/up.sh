#!/usr/bin/env bash
# npm run k8s:up — builds imgfleet's three images inside minikube and deploys k8s/.
#   MINIKUBE_PROFILE      minikube profile (and kubectl context) to use; default minikube
#   MINIKUBE_START_ARGS   arguments for 'minikube start' when it is not running,
#                         e.g. "--cpus=4 --memory=6g"
set -euo pipefail

# shellcheck source=k8s/scripts/common.sh
source "${BASH_SOURCE[0]%/*}/common.sh"
cd "$ROOT"

need_minikube
need_kubectl
need docker "The images are built with the Docker CLI against minikube's Docker engine; install the docker client (docker-ce-cli or docker.io)."

if ! minikube -p "$PROFILE" status >/dev/null 2>&1; then
  log "minikube ($PROFILE) is not running: starting it"
  read -r -a start_args <<<"${MINIKUBE_START_ARGS:-}"
  # (the ${a[@]+...} form: an empty array under `set -u` is an error in macOS's bash 3.2)
  minikube -p "$PROFILE" start ${start_args[@]+"${start_args[@]}"}
fi

# Build straight into minikube's Docker engine, so the pods find the images without a
# registry (the manifests use imagePullPolicy: Never for them).
log "using minikube's Docker engine"
eval "$(minikube -p "$PROFILE" docker-env --shell bash)"

# The images the manifests name (k8s/scripts/images.sh; test:containers builds the same).
# shellcheck source=k8s/scripts/images.sh
source "$ROOT/k8s/scripts/images.sh"
build_images docker

# The HorizontalPodAutoscaler reads CPU usage from metrics-server.
minikube -p "$PROFILE" addons enable metrics-server >/dev/null 2>&1 ||
  warn "could not enable metrics-server: the autoscaler will show <unknown> targets"

# Deployments that exist already keep running the old image under the same tag:
# restart them after the apply so that they pick up what was just built.
restart=()
for deployment in image-processor imgfleet-runtime; do
  if k get deployment "$deployment" >/dev/null 2>&1; then
    restart+=("deployment/$deployment")
  fi
done

log "kubectl apply -k k8s/"
k apply -k k8s/
if ((${#restart[@]} > 0)); then
  log "restarting ${restart[*]} on the new images"
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
