#!/usr/bin/env bash
# npm run k8s:down — removes what `npm run k8s:up` deployed (k8s/overlays/minikube).
# The data is kept: the database volume (data-postgres-0), the blob volume
# (image-blobs, labelled app.kubernetes.io/component=data) and the Secret
# postgres-secret whose password the database was initialised with, so the next
# k8s:up finds every image again. --purge deletes them too.
#   npm run k8s:down              keep the data
#   npm run k8s:down -- --purge   delete the data as well
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

log "kubectl delete -k k8s/overlays/minikube (all but the data)"
k delete -k k8s/overlays/minikube -l 'app.kubernetes.io/component!=data' --ignore-not-found --wait=true

if [[ "$purge" == true ]]; then
  log "deleting the data: the volumes data-postgres-0 and image-blobs, the Secret postgres-secret"
  k delete persistentvolumeclaim data-postgres-0 image-blobs --ignore-not-found --wait=true
  k delete secret postgres-secret --ignore-not-found
else
  log "kept the volumes data-postgres-0 and image-blobs and the Secret postgres-secret (npm run k8s:down -- --purge deletes them)"
fi
log "done; 'minikube stop' stops the cluster itself"
