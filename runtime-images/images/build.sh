#!/usr/bin/env bash
# Builds every image in runtime-images/images/*.Dockerfile and tags it exactly as the
# chart's defaults name it (charts/selfless/values.yaml: image.repository and
# runtimeImages.prefix, tag = the chart's appVersion), so `helm install` with default
# values finds them. `npm run images` runs this.
#
#   bash runtime-images/images/build.sh              # every image
#   bash runtime-images/images/build.sh control-plane runtime-python3.12
#   SELFLESS_IMAGE_ENGINE=buildah bash runtime-images/images/build.sh
#
# Engine: docker when its daemon answers, else podman, else buildah. A base image that
# is neither present nor pullable (no registry reachable) is first built as a local
# stand-in (stand-ins.sh), said plainly when it holds another version than its name.
# The Dockerfiles are the same everywhere. When this machine's TLS is intercepted, npm
# and pip inside the build need its CA bundle: it is passed as the build secret
# `ca-bundle`, mounted for single RUN steps only, and every image is checked to hold
# neither that CA nor test code. Idempotent: layers are cached by the engine, stand-ins
# and downloads under ~/.cache/selfless/images.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
CACHE=${SELFLESS_CACHE:-$HOME/.cache/selfless}/images
mkdir -p "$CACHE"
t0=$SECONDS
say() { printf '[images %4ds] %s\n' "$((SECONDS - t0))" "$*" >&2; }

# Runs a heavy step at the lowest priority with its output in a log and a heartbeat
# each minute; on failure, the end of the log.
run_logged() { # what log cmd...
  local what=$1 log=$2 t=$SECONDS beat=$SECONDS
  shift 2
  say "$what (log: $log)"
  nice -n 19 "$@" >"$log" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if ((SECONDS - beat >= 60)); then
      beat=$SECONDS
      say "  ... $what: $(((SECONDS - t) / 60)) min"
    fi
  done
  if ! wait "$pid"; then
    say "FAILED: $what; last lines of $log:"
    tail -n 30 "$log" >&2
    exit 1
  fi
  say "  done: $what in $((SECONDS - t)) s"
}

# --- the engine ----------------------------------------------------------------------
ENGINE=${SELFLESS_IMAGE_ENGINE:-}
if [[ -z $ENGINE ]]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    ENGINE=docker
  elif command -v podman >/dev/null; then
    ENGINE=podman
  elif command -v buildah >/dev/null; then
    ENGINE=buildah
  else
    say "no container engine (docker, podman or buildah): bash test/services/provision.sh cluster installs podman"
    exit 1
  fi
fi
BUILD=()
RUN=()
case $ENGINE in
  docker)
    BUILD=(docker build)
    RUN=(docker run --rm)
    ;;
  podman | buildah)
    # crun refuses hybrid cgroup v1 ("cgroups in hybrid mode not supported"): runc runs.
    rt=()
    if [[ ! -f /sys/fs/cgroup/cgroup.controllers ]] && command -v runc >/dev/null; then rt=(--runtime runc); fi
    # Without CAP_SYS_RESOURCE the engine's default rlimits (above the hard limits) fail
    # setrlimit: ask for the current hard limits, and for processes at most the 32768
    # podman starts conmon with (more fails the same way).
    nproc=$(ulimit -Hu)
    [[ $nproc == unlimited || $nproc -gt 32768 ]] && nproc=32768
    nofile=$(ulimit -Hn)
    [[ $nofile == unlimited || $nofile -gt 1048576 ]] && nofile=1048576
    ul=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")
    # The host's network for RUN steps: a private one would leave the engine's bridge,
    # veths and firewall chains on the host after every build.
    if [[ $ENGINE == podman ]]; then
      BUILD=(podman build --network host "${rt[@]}" "${ul[@]}")
      RUN=(podman run --rm --network none "${rt[@]}" "${ul[@]}")
    else
      BUILD=(buildah build --network host "${rt[@]}" "${ul[@]}")
      RUN=()
    fi
    ;;
  *)
    say "unknown engine $ENGINE (docker, podman or buildah)"
    exit 2
    ;;
esac

# Runs a command in an image (buildah: in a working container).
run_in() { # image cmd...
  local image=$1
  shift
  if ((${#RUN[@]})); then
    "${RUN[@]}" --entrypoint "$1" "$image" "${@:2}"
  else
    local c
    c=$(buildah from -q "$image")
    buildah run "${rt[@]}" "$c" -- "$@"
    local rc=$?
    buildah rm "$c" >/dev/null
    return $rc
  fi
}

# shellcheck source=stand-ins.sh
source "$here/stand-ins.sh"

# --- the names the chart expects -------------------------------------------------------
# The first `key:` under a top-level `section:` of values.yaml, unquoted.
value_of() { # section key
  awk -v s="$1:" -v k="$2:" '
    /^[^ #]/ { in_s = ($1 == s) }
    in_s && $1 == k { v = $2; gsub(/^["\047]|["\047]$/, "", v); print v; exit }
  ' "$root/charts/selfless/values.yaml"
}
app_version=$(sed -n "s/^appVersion: *['\"]\{0,1\}\([^'\"]*\)['\"]\{0,1\}$/\1/p" "$root/charts/selfless/Chart.yaml")
repository=$(value_of image repository)
tag=$(value_of image tag)
tag=${tag:-$app_version}
rt_prefix=$(value_of runtimeImages prefix)
rt_tag=$(value_of runtimeImages tag)
rt_tag=${rt_tag:-$app_version}
image_name() { # dockerfile basename without .Dockerfile
  case $1 in
    control-plane) echo "$repository:$tag" ;;
    runtime-*) echo "$rt_prefix${1#runtime-}:$rt_tag" ;;
    *)
      say "no chart value names the image of $1.Dockerfile"
      exit 1
      ;;
  esac
}

wanted=("$@")
if ((${#wanted[@]} == 0)); then
  for f in "$here"/*.Dockerfile; do wanted+=("$(basename "$f" .Dockerfile)"); done
fi
say "engine: $ENGINE; images: ${wanted[*]}"

# --- bases ---------------------------------------------------------------------------
# Every FROM that is not an earlier stage of the same file.
bases=$(for w in "${wanted[@]}"; do
  awk 'toupper($1) == "FROM" {
         if (!($2 in stage)) print $2
         if (toupper($3) == "AS") stage[$4] = 1
       }' "$here/$w.Dockerfile"
done | sort -u)
for base in $bases; do
  if image_exists "$base" || image_exists "$(local_name "$base")"; then continue; fi
  # One try at the engine's own registries; stand-ins only when that fails.
  if [[ -z ${SELFLESS_IMAGE_OFFLINE:-} ]] && timeout 120 "$ENGINE" pull -q "$base" >"$CACHE/pull.log" 2>&1; then
    say "pulled $base"
    continue
  fi
  SELFLESS_IMAGE_OFFLINE=1 # one failed pull says enough about the others
  say "$base: no registry answered; building a local stand-in"
  stand_in "$base"
done

# --- the project's images ------------------------------------------------------------
secret=()
ca=${SELFLESS_BUILD_CA:-/etc/ssl/certs/ca-certificates.crt}
[[ -f $ca ]] && secret=(--secret "id=ca-bundle,src=$ca")

# The lines of each custom CA this machine trusts (an intercepting proxy's): an image
# holding one of them carries a build-time CA.
custom_ca_marks=()
for c in /usr/local/share/ca-certificates/*.crt; do
  [[ -f $c ]] && custom_ca_marks+=(-e "$(sed -n '3p' "$c")")
done

check_image() { # name
  local name=$1 found id mark
  # A build the layer cache answered is the image checked last time.
  case $ENGINE in
    buildah) id=$(buildah inspect --type image --format '{{.FromImageID}}' "$name") ;;
    *) id=$($ENGINE image inspect --format '{{.Id}}' "$name") ;;
  esac
  mark=$CACHE/checked/$(tr '/:' '__' <<<"$name")
  [[ -f $mark && $(cat "$mark") == "$id" ]] && return 0
  # Files only: an empty leftover folder of a checkout carries no code.
  found=$(run_in "$name" sh -c 'find /usr/local/lib/selfless -path "*/node_modules" -prune -o -type f \( -name "*.test.ts" \
      -o -name "*.test.mjs" -o -name testing.ts -o -path "*/testing/*" -o -path "*/test/*" -o -path "*/bench/*" \) -print' 2>&1 || true)
  if [[ -n $found ]]; then
    say "FAILED: $name carries test code:"
    echo "$found" >&2
    exit 1
  fi
  if ((${#custom_ca_marks[@]})); then
    found=$(run_in "$name" sh -c "grep -rlF $(printf '%q ' "${custom_ca_marks[@]}") / \
      --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev 2>/dev/null" 2>/dev/null || true)
    if [[ -n $found ]]; then
      say "FAILED: $name carries this machine's build-time CA in: $found"
      exit 1
    fi
  fi
  local env
  case $ENGINE in
    buildah) env=$(buildah inspect --type image --format '{{.OCIv1.Config.Env}}' "$name") ;;
    *) env=$($ENGINE image inspect --format '{{.Config.Env}}' "$name") ;;
  esac
  if grep -q -E 'NODE_EXTRA_CA_CERTS|PIP_CERT|SSL_CERT_FILE|REQUESTS_CA_BUNDLE' <<<"$env"; then
    say "FAILED: $name sets a CA variable: $env"
    exit 1
  fi
  mkdir -p "$CACHE/checked"
  echo "$id" >"$mark"
}

# What a build of one Dockerfile depends on: the file, its ignore file, the base images'
# ids and every file under the paths the ignore file lets through (test files too:
# hashing more only costs a needless rebuild, never a stale image). The same key as the
# last build of an image that still exists: nothing to build.
image_id() {
  case $ENGINE in
    buildah) buildah inspect --type image --format '{{.FromImageID}}' "$1" 2>/dev/null ;;
    *) $ENGINE image inspect --format '{{.Id}}' "$1" 2>/dev/null ;;
  esac
}
build_key() { # dockerfile
  local f=$1 b paths
  {
    sha256sum "$f" "$f.dockerignore"
    for b in $(awk 'toupper($1) == "FROM" { print $2 }' "$f" | sort -u); do
      image_id "$b" || image_id "$(local_name "$b")" || true
    done
    mapfile -t paths < <(sed -n 's#^!\(.*[^/]\)/*$#\1#p' "$f.dockerignore")
    (cd "$root" && find "${paths[@]}" -name node_modules -prune -o -type f -print0 2>/dev/null |
      sort -z | xargs -0r sha256sum)
  } | sha256sum | cut -d' ' -f1
}

declare -A took
for w in "${wanted[@]}"; do
  f=$here/$w.Dockerfile
  [[ -f $f ]] || {
    say "no $f"
    exit 2
  }
  name=$(image_name "$w")
  s=$SECONDS
  key=$(build_key "$f")
  keyfile=$CACHE/keys/$w
  if [[ -f $keyfile && $(cat "$keyfile") == "$key" ]] && image_exists "$name"; then
    took[$w]=0
    say "$name: unchanged since its last build"
    continue
  fi
  ignore=()
  [[ $ENGINE != docker ]] && ignore=(--ignorefile "$f.dockerignore") # BuildKit finds it beside the file
  run_logged "build $name from $w.Dockerfile" "$CACHE/$w.build.log" \
    "${BUILD[@]}" "${secret[@]}" "${ignore[@]}" -f "$f" -t "$name" "$root"
  check_image "$name"
  mkdir -p "$CACHE/keys"
  echo "$key" >"$keyfile"
  took[$w]=$((SECONDS - s))
  say "$name: built and checked in ${took[$w]} s (no test code, no build-time CA)"
done

say "all built in $((SECONDS - t0)) s:"
for w in "${wanted[@]}"; do say "  $(image_name "$w")  (${took[$w]} s)"; done
# What each base really is, from the label its stand-in carries (every run, not only
# the run that built it).
for base in $bases; do
  label=$(case $ENGINE in
    buildah) buildah inspect --type image --format '{{index .OCIv1.Config.Labels "dev.selfless.stand-in"}}' "$(local_name "$base")" ;;
    *) $ENGINE image inspect --format '{{index .Config.Labels "dev.selfless.stand-in"}}' "$(local_name "$base")" ;;
  esac 2>/dev/null) || true
  [[ -n $label && $label != '<no value>' ]] && say "base $base is a LOCAL STAND-IN: $label"
done
exit 0
