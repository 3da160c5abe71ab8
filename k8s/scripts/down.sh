#!/usr/bin/env bash
# npm run k8s:down — removes everything `kubectl apply -k k8s/` created.
# The database volume (PersistentVolumeClaim data-postgres-0) is kept, so the images
# are still there after the next k8s:up; pass --purge to delete it too.
#   npm run k8s:down              keep the database
#   npm run k8s:down -- --purge   delete the database as well
set -euo pipefail

# shellcheck source=k8s/scripts/common.sh
source "${BASH_SOURCE[0]%/*}/common.sh"
cd "$ROOT"

purge=false
for arg in "$@"; do
  case "$arg" in
    --purge) purge=true ;;
    -h | --help)
      printf 'usage: npm run k8s:down [-- --purge]\n'
      exit 0
      ;;
    *) die "unknown argument: $arg (usage: npm run k8s:down [-- --purge])" ;;
  esac
done

need_kubectl

log "kubectl delete -k k8s/"
k delete -k k8s/ --ignore-not-found --wait=true

if [[ "$purge" == true ]]; then
  log "deleting the database volume (data-postgres-0)"
  k delete persistentvolumeclaim data-postgres-0 --ignore-not-found --wait=true
else
  log "kept the database volume data-postgres-0 (npm run k8s:down -- --purge deletes it)"
fi
log "done; 'minikube stop' stops the cluster itself"
