# The three images the manifests name, how each is built, and its tag (sourced, not
# run). Shared by `npm run k8s:up` (into minikube) and `npm run test:containers`
# (Podman), so that the tests build exactly what gets deployed, under the same tags.
# Needs ROOT (common.sh) and git, when there is a repository.
# shellcheck shell=bash

# for_each_image FUNCTION: FUNCTION NAME DOCKERFILE CONTEXT for each image (paths from
# the repository root; the Dockerfile as `docker build -f` takes it, from there).
for_each_image() {
  "$1" image-processor docker/Dockerfile.app .
  "$1" postgres-db docker/Dockerfile.db docker
  "$1" imgfleet-runtime docker/Dockerfile.runtime .
}

# package_version: the "version" of the root package.json (its first one).
package_version() {
  local line
  while IFS= read -r line; do
    if [[ "$line" =~ ^[[:space:]]*\"version\":[[:space:]]*\"([^\"]+)\" ]]; then
      printf '%s\n' "${BASH_REMATCH[1]}"
      return 0
    fi
  done <"$ROOT/package.json"
  printf 'error: no "version" in %s/package.json\n' "$ROOT" >&2
  return 1
}

# image_tag NAME: <package version>-<commit>, and -dirty when the image's inputs have
# uncommitted changes (such a tag is rebuilt in place: k8s:up then restarts the pods).
# The commit is HEAD's, except for postgres-db: the last one that changed its
# Dockerfile or init.sql, so that a deploy of new backend code does not restart
# PostgreSQL. Without git (a source archive): <version>-local, also rebuilt in place.
# Worked out once per run, so that every step names the same tag even if files change
# meanwhile.
image_tag() {
  local cache="image_tag_cache_${1//-/_}"
  if [[ -z "${!cache:-}" ]]; then
    printf -v "$cache" '%s' "$(compute_image_tag "$1")"
  fi
  printf '%s\n' "${!cache}"
}

compute_image_tag() {
  local version commit='' inputs=(.)
  version="$(package_version)"
  [[ "$1" == postgres-db ]] && inputs=(docker/Dockerfile.db docker/init.sql)
  if command -v git >/dev/null 2>&1 && git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    if [[ "${inputs[*]}" == . ]]; then
      commit="$(git -C "$ROOT" rev-parse --short=12 HEAD)"
    else
      commit="$(git -C "$ROOT" log -1 --format=%h --abbrev=12 -- "${inputs[@]}")"
    fi
  fi
  if [[ -z "$commit" ]]; then
    printf '%s-local\n' "$version"
  elif [[ -n "$(git -C "$ROOT" status --porcelain -- "${inputs[@]}")" ]]; then
    printf '%s-%s-dirty\n' "$version" "$commit"
  else
    printf '%s-%s\n' "$version" "$commit"
  fi
}

# image_ref NAME: NAME:TAG.
image_ref() {
  printf '%s:%s\n' "$1" "$(image_tag "$1")"
}

# mutable_tag TAG: true for a tag that is rebuilt in place (-dirty, -local).
mutable_tag() {
  [[ "$1" == *-dirty || "$1" == *-local ]]
}

# remember_image_tags: work out every image's tag now, in this shell (callers that ask
# for one inside $(…) then read it instead of asking git again).
remember_image_tags() {
  for_each_image remember_image_tag
}
# shellcheck disable=SC2329 # called through for_each_image
remember_image_tag() {
  image_tag "$1" >/dev/null
}
