#!/usr/bin/env bash
# The images the cluster runs, built with podman and loaded into containerd's k8s.io
# namespace (podman save | ctr import: no registry in between):
#   - the project's images, built by `npm run images` under the chart's default names;
#   - the cluster's own parts, built here: a static pause (the sandbox image; none can
#     be pulled), CoreDNS from the binary provision.sh built, and Redis from Debian's
#     redis-server standing in for the chart's redis image (another version: said).
# Idempotent: an image is built when missing and imported when containerd does not hold
# that very build yet (containerd's image store outlives `down`: common.sh).
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

IMG=$CLUSTER/images
mkdir -p "$IMG" "$CONTAINERD_ROOT/selfless-imported"
# runc, and rlimits this machine lets podman set (see runtime-images/images/build.sh).
nproc=$(ulimit -Hu)
[[ $nproc == unlimited || $nproc -gt 32768 ]] && nproc=32768
rt=(--runtime runc --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit "nproc=$nproc:$nproc")
build() { # name dir
  local t=$SECONDS
  nice -n 19 podman build --network host "${rt[@]}" -q -t "$1" "$2" >"$2/build.log" 2>&1 || {
    say "FAILED: podman build $1; last lines of $2/build.log:"
    tail -n 30 "$2/build.log" >&2
    exit 1
  }
  say "built $1 in $((SECONDS - t)) s"
}

# The project's images first: the Debian stand-in they build is the root of ours too.
bash "$ROOT/runtime-images/images/build.sh"
DEBIAN=localhost/selfless-stand-in/debian:bookworm-minbase
podman image exists "$DEBIAN" || DEBIAN=$(podman images --format '{{.Repository}}:{{.Tag}}' --filter reference='*debian*' | head -1)

# pause: sleeps, reaps zombies, exits on TERM. Static, so FROM scratch.
if ! podman image exists "$PAUSE_IMAGE"; then
  d=$IMG/pause
  mkdir -p "$d"
  cat >"$d/pause.c" <<'EOF'
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
static void down(int s) { (void)s; exit(0); }
static void reap(int s) { (void)s; while (waitpid(-1, NULL, WNOHANG) > 0) {} }
int main(void) {
  struct sigaction term = {.sa_handler = down}, chld = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP};
  if (sigaction(SIGINT, &term, NULL) || sigaction(SIGTERM, &term, NULL) || sigaction(SIGCHLD, &chld, NULL)) return 1;
  for (;;) pause();
}
EOF
  gcc -Os -static -o "$d/pause" "$d/pause.c"
  strip "$d/pause"
  printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' >"$d/Containerfile"
  build "$PAUSE_IMAGE" "$d"
fi

# CoreDNS runs as uid 65532 and binds :53: the file capability lets it without root.
if ! podman image exists "$COREDNS_IMAGE"; then
  d=$IMG/coredns
  mkdir -p "$d"
  cp "$BIN/coredns" "$d/coredns"
  setcap cap_net_bind_service=+ep "$d/coredns"
  printf 'FROM %s\nCOPY coredns /coredns\nUSER 65532:65532\nENTRYPOINT ["/coredns"]\n' "$DEBIAN" >"$d/Containerfile"
  build "$COREDNS_IMAGE" "$d"
fi

# Redis: uid 999 as in the official image, redis-cli for the chart's probe.
if ! podman image exists "$REDIS_IMAGE"; then
  d=$IMG/redis
  mkdir -p "$d"
  cat >"$d/Containerfile" <<EOF
FROM $DEBIAN
RUN groupadd -r -g 999 redis && useradd -r -g redis -u 999 -d /data redis \\
 && apt-get update && apt-get install -y --no-install-recommends redis-server redis-tools \\
 && rm -rf /var/lib/apt/lists/* && mkdir -p /data && chown redis:redis /data
USER 999:999
WORKDIR /data
CMD ["redis-server"]
EOF
  build "$REDIS_IMAGE" "$d"
fi
redis_version=$(podman run "${rt[@]}" --rm --network none "$REDIS_IMAGE" redis-server --version | sed -n 's/.* v=\([0-9.]*\).*/\1/p')
say "Redis in the cluster is Debian bookworm's redis-server $redis_version, a stand-in for the chart's default $(
  sed -n 's/^  image: \(redis:.*\)/\1/p' "$ROOT/charts/selfless/values.yaml"
)"

# Every image whose name the chart or the cluster uses, imported into containerd when
# this build of it is not there yet (the podman image id is remembered per name).
repository=$(awk '/^image:/ { s = 1 } s && $1 == "repository:" { print $2; exit }' "$ROOT/charts/selfless/values.yaml")
prefix=$(awk '/^runtimeImages:/ { s = 1 } s && $1 == "prefix:" { print $2; exit }' "$ROOT/charts/selfless/values.yaml")
mapfile -t project < <(podman images --format '{{.Repository}}:{{.Tag}}' |
  grep -E "^($repository|$prefix[^:]*):" | sort -u)
for image in "$PAUSE_IMAGE" "$COREDNS_IMAGE" "$REDIS_IMAGE" "${project[@]}"; do
  id=$(podman image inspect --format '{{.Id}}' "$image")
  mark=$CONTAINERD_ROOT/selfless-imported/$(tr '/:' '__' <<<"$image")
  if [[ -f $mark && $(cat "$mark") == "$id" ]]; then continue; fi
  t=$SECONDS
  podman save --format docker-archive "$image" | nice -n 19 ctr --address "$CONTAINERD_SOCK" --namespace k8s.io images import - >/dev/null
  echo "$id" >"$mark"
  # Same tag, new bytes: install.sh restarts what runs it (a pod never re-reads a tag).
  mkdir -p "$RUNDIR" && echo "$image" >>"$RUNDIR/reloaded-images"
  say "loaded $image into containerd in $((SECONDS - t)) s"
done
