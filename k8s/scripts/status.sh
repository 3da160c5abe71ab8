#!/usr/bin/env bash
# npm run k8s:status — what is deployed, how it is doing, and what is in the queue.
set -euo pipefail

# shellcheck source=k8s/scripts/common.sh
source "${BASH_SOURCE[0]%/*}/common.sh"
cd "$ROOT"

need_kubectl

selector=app.kubernetes.io/part-of=imgfleet

log "workloads"
k get statefulsets,deployments,horizontalpodautoscalers,poddisruptionbudgets -l "$selector" -o wide
printf '\n'
log "pods"
k get pods -l "$selector" -o wide
printf '\n'
log "services"
k get services -l "$selector"
printf '\n'
log "resource usage (needs metrics-server)"
k top pods -l "$selector" 2>/dev/null || printf '(not available yet: minikube addons enable metrics-server)\n'
printf '\n'
log "images by status (processed_images)"
# shellcheck disable=SC2016 # expanded by the shell inside the pod
k exec postgres-0 -- sh -c 'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "SELECT status, count(*) AS images FROM processed_images GROUP BY status ORDER BY status;"' ||
  printf '(postgres-0 is not reachable)\n'
if command -v minikube >/dev/null 2>&1; then
  printf '\nURL: minikube service image-processor --url\n'
fi
