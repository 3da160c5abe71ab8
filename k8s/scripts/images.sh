# The three images the manifests name and how each is built (sourced, not run).
# Shared by `npm run k8s:up` (docker, inside minikube) and `npm run test:containers`
# (podman), so that the tests build exactly what gets deployed.
# shellcheck shell=bash

# build_images ENGINE [BUILD_OPTION...]: `ENGINE build [BUILD_OPTION...] -t TAG -f
# DOCKERFILE CONTEXT` for each image, from the repository root.
# IMGFLEET_BUILD_ONLY (tags separated by spaces) limits it to some of them.
build_images() {
  BUILD_ENGINE=("$@")
  build_image image-processor:latest docker/Dockerfile.app .
  build_image postgres-db:latest docker/Dockerfile.db docker
  build_image imgfleet-runtime:latest docker/Dockerfile.runtime .
}

# build_image TAG DOCKERFILE CONTEXT
build_image() {
  if [[ -n "${IMGFLEET_BUILD_ONLY:-}" && " $IMGFLEET_BUILD_ONLY " != *" $1 "* ]]; then
    return 0
  fi
  printf '==> %s build -t %s -f %s %s\n' "${BUILD_ENGINE[0]}" "$1" "$2" "$3"
  "${BUILD_ENGINE[@]:0:1}" build ${BUILD_ENGINE[1]+"${BUILD_ENGINE[@]:1}"} -t "$1" -f "$2" "$3"
}
