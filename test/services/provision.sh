#!/usr/bin/env bash
# Installs, builds and caches the local test services that integration tests use
# when no endpoint is given and no container runtime answers. Idempotent: every step
# checks its cached result first, so a rerun costs seconds. Versions are pinned here
# and nowhere else; the cache lives outside the work tree, keyed by version.
#
#   bash test/services/provision.sh            # everything
#   bash test/services/provision.sh redis cql   # only some services
#   bash test/services/provision.sh cluster     # the real cluster's binaries (not in "everything":
#                                               # ~20 min of Go builds cold; cluster.sh up runs it)
#
# Prints one line of progress per step (and per minute during long builds) and, at
# the end, a line `SELFLESS_BIN=<dir>` naming where the binaries are.
set -euo pipefail

# shellcheck source=versions.sh
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"

CACHE=${SELFLESS_CACHE:-$HOME/.cache/selfless}
BIN=$CACHE/bin
mkdir -p "$BIN"
# Debian's binaries are linked into $BIN by looking them up on PATH: a PATH that
# already starts with $BIN (cluster.sh's does) would make each link point at itself.
PATH=$(tr ':' '\n' <<<"$PATH" | grep -v -x -F "$BIN" | paste -sd:)
start_all=$SECONDS

say() { printf '[provision %4ds] %s\n' "$((SECONDS - start_all))" "$*" >&2; }

# Runs a long command with its output in a log file and a heartbeat every minute,
# so a 20-minute Go build does not look like a hang.
long() {
  local what=$1 log=$2; shift 2
  say "$what (log: $log)"
  local t0=$SECONDS
  nice -n 19 "$@" >"$log" 2>&1 &
  local pid=$! beat=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    sleep 2
    if (( SECONDS - beat >= 60 )); then
      beat=$SECONDS
      say "  ... $what: $(( (SECONDS - t0) / 60 )) min"
    fi
  done
  if ! wait "$pid"; then
    say "FAILED: $what; last lines of $log:"
    tail -n 30 "$log" >&2
    exit 1
  fi
  say "  done: $what in $((SECONDS - t0)) s"
}

need_root_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  (( ${#missing[@]} == 0 )) && return 0
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null; then SUDO=sudo; else
      say "need Debian packages ${missing[*]} and am not root: install them and rerun"; exit 1
    fi
  else SUDO=; fi
  long "apt-get install ${missing[*]}" "$CACHE/apt.log" \
    bash -c "$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq ${missing[*]}"
}

provision_redis() {
  need_root_apt redis-server
  ln -sf "$(command -v redis-server)" "$BIN/redis-server"
  say "redis: $("$BIN/redis-server" --version | cut -d' ' -f3)"
}

provision_etcd() {
  need_root_apt etcd-server
  ln -sf "$(command -v etcd)" "$BIN/etcd"
  say "etcd: $("$BIN/etcd" --version | head -1)"
}

provision_cql() {
  local dir=$CACHE/cassandra-$CASSANDRA_VERSION
  if [[ -f $dir/.complete ]]; then say "cassandra $CASSANDRA_VERSION: cached"; return; fi
  mkdir -p "$dir"
  cat >"$dir/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.selfless.test</groupId>
  <artifactId>cassandra-runner</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>org.apache.cassandra</groupId>
      <artifactId>cassandra-all</artifactId>
      <version>$CASSANDRA_VERSION</version>
    </dependency>
  </dependencies>
</project>
POM
  long "cassandra $CASSANDRA_VERSION jars" "$dir/mvn.log" \
    mvn -B -q -f "$dir/pom.xml" dependency:copy-dependencies -DoutputDirectory="$dir/lib" -DincludeScope=runtime
  touch "$dir/.complete"
}

# k8s.io/kubernetes replaces its staging modules with local paths, so `go install`
# refuses it; a wrapper module that pins each staging module to the matching
# v0.x.y release builds the same binaries. One module and one `go build` for every
# k8s.io/kubernetes command wanted (arguments; default kube-apiserver and kubectl, what
# the integration tests use): the cluster target asks for all six, and Go's build
# cache makes the ones built before cost nothing.
provision_kube() {
  local cmds=("$@")
  (( ${#cmds[@]} )) || cmds=(kube-apiserver kubectl)
  local dir=$CACHE/kube-$K8S_VERSION missing=() c
  for c in "${cmds[@]}"; do [[ -x $dir/bin/$c ]] || missing+=("$c"); done
  if (( ${#missing[@]} == 0 )); then
    say "${cmds[*]} $K8S_VERSION: cached"
  else
    mkdir -p "$dir/src"
    local staging=v0.${K8S_VERSION#v1.}
    (
      cd "$dir/src"
      if [[ ! -f $dir/.downloaded ]]; then
        long "go mod download k8s.io/kubernetes@$K8S_VERSION" "$dir/download.log" \
          go mod download k8s.io/kubernetes@"$K8S_VERSION"
        touch "$dir/.downloaded"
      fi
      local upstream
      upstream=$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$K8S_VERSION.mod
      {
        echo "module selfless.test/kube"
        echo
        echo "go 1.24.0"
        echo
        echo "require k8s.io/kubernetes $K8S_VERSION"
        echo
        echo "replace ("
        sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"$staging"'#p' "$upstream"
        echo ")"
      } >go.mod.new
      # Every command built so far stays imported, so go.mod/go.sum only ever grow and
      # `go mod tidy` runs again only when a new command joins.
      local all
      all=$( { sed -n 's#^\t_ "k8s.io/kubernetes/cmd/\(.*\)"#\1#p' tools.go 2>/dev/null; printf '%s\n' "${cmds[@]}"; } | sort -u)
      {
        printf '//go:build tools\n\npackage tools\n\nimport (\n'
        for c in $all; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; done
        printf ')\n'
      } >tools.go.new
      if ! cmp -s tools.go.new tools.go || [[ ! -f go.sum ]]; then
        mv tools.go.new tools.go
        [[ -f go.sum ]] || mv go.mod.new go.mod
        long "resolve kubernetes $K8S_VERSION modules for $(echo $all)" "$dir/tidy.log" go mod tidy
      fi
      rm -f tools.go.new go.mod.new
      local pkg=k8s.io/component-base/version
      local ldflags="-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$(cut -d. -f2 <<<"$K8S_VERSION") -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
      local pkgs=() hint="about 3 minutes on 2 cores"
      for c in "${cmds[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
      (( ${#cmds[@]} > 2 )) && hint="11 to 40 minutes on 2 cores, by how busy they are"
      long "build ${cmds[*]} $K8S_VERSION (first time: $hint)" "$dir/build.log" \
        go build -trimpath -ldflags "$ldflags" -o "$dir/bin/" "${pkgs[@]}"
    )
  fi
  for c in "${cmds[@]}"; do ln -sf "$dir/bin/$c" "$BIN/$c"; done
}

# helm's own Makefile stamps the Kubernetes version that `helm template` and `helm lint`
# assume offline (the minor of its client-go); a plain `go install` leaves v1.20.0, and
# the chart's kubeVersion (>= 1.29) then refuses to render without --kube-version.
provision_helm() {
  local dir=$CACHE/helm-$HELM_VERSION
  if [[ -x $dir/bin/helm && -f $dir/.kube-version ]]; then say "helm $HELM_VERSION: cached"; else
    mkdir -p "$dir"
    local gomod minor
    gomod=$(cd "$dir" && go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    minor=$(sed -n 's#^\s*k8s.io/client-go v0\.\([0-9]*\)\..*#\1#p' "$gomod")
    local kv="-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor"
    kv+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor"
    long "build helm $HELM_VERSION (offline Kubernetes version 1.$minor)" "$dir/build.log" \
      env GOBIN="$dir/bin" go install -trimpath \
        -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION $kv" \
        helm.sh/helm/v3/cmd/helm@"$HELM_VERSION"
    echo "1.$minor" >"$dir/.kube-version"
  fi
  ln -sf "$dir/bin/helm" "$BIN/helm"
}

# The official Lambda runtime interface clients, run unchanged as `provided`
# bootstraps by the agent's tests. aws-lambda-ric builds a native addon (aws-lambda-cpp
# and curl from source) with its install script, hence the build tools; v3 because v4
# declares Node >= 22. Each lives in its own prefix so nothing leaks into the project.
provision_ric() {
  local node_dir=$CACHE/aws-lambda-ric-$NODE_RIC_VERSION
  if [[ -f $node_dir/.complete ]]; then say "aws-lambda-ric $NODE_RIC_VERSION: cached"; else
    need_root_apt autoconf automake libtool cmake g++ make
    mkdir -p "$node_dir"
    # npm runs a dependency's install scripts only when the prefix allows them.
    echo '{"name":"ric-prefix","private":true,"allowScripts":{"aws-lambda-ric":true}}' >"$node_dir/package.json"
    long "build aws-lambda-ric $NODE_RIC_VERSION (native addon)" "$node_dir/install.log" \
      npm install --prefix "$node_dir" --no-audit --no-fund --foreground-scripts \
        "aws-lambda-ric@$NODE_RIC_VERSION"
    if [[ -z $(find "$node_dir/node_modules/aws-lambda-ric" -name '*.node' -print -quit) ]]; then
      say "FAILED: aws-lambda-ric's native addon was not built; see $node_dir/install.log"; exit 1
    fi
    touch "$node_dir/.complete"
  fi
  local py_dir=$CACHE/awslambdaric-$PYTHON_RIC_VERSION
  if [[ -f $py_dir/.complete ]]; then say "awslambdaric $PYTHON_RIC_VERSION: cached"; else
    python3 -m venv "$py_dir"
    long "pip install awslambdaric $PYTHON_RIC_VERSION" "$py_dir/install.log" \
      "$py_dir/bin/pip" install --disable-pip-version-check "awslambdaric==$PYTHON_RIC_VERSION"
    touch "$py_dir/.complete"
  fi
}

# The AWS CLI (v1, from PyPI: v2 is not published there), for the wire-compatibility
# tests that drive Selfless with the real CLI.
provision_awscli() {
  local dir=$CACHE/awscli-$AWSCLI_VERSION
  if [[ -f $dir/.complete ]]; then say "awscli $AWSCLI_VERSION: cached"; else
    python3 -m venv "$dir"
    long "pip install awscli $AWSCLI_VERSION" "$dir/install.log" \
      "$dir/bin/pip" install --disable-pip-version-check "awscli==$AWSCLI_VERSION"
    touch "$dir/.complete"
  fi
  ln -sf "$dir/bin/aws" "$BIN/aws"
}

# boto3 for benchmarks run on the machine's interpreter (bench/snap-start), as Lambda's
# Python runtimes carry it; installed apart, never into the interpreter itself.
provision_boto3() {
  local dir=$CACHE/boto3-$BOTO3_VERSION
  if [[ -f $dir/.complete ]]; then say "boto3 $BOTO3_VERSION: cached"; else
    mkdir -p "$dir"
    long "pip install boto3 $BOTO3_VERSION" "$dir/install.log" \
      python3 -m pip install --disable-pip-version-check --target "$dir" "boto3==$BOTO3_VERSION"
    touch "$dir/.complete"
  fi
}

# Go's own `go install` for a module with no replace directives, into a versioned prefix.
go_install() { # name version package ldflags
  local name=$1 version=$2 pkg=$3 ldflags=$4 dir=$CACHE/$1-$2
  if [[ -x $dir/bin/$name ]]; then say "$name $version: cached"; else
    mkdir -p "$dir"
    long "build $name $version" "$dir/build.log" \
      env GOBIN="$dir/bin" go install -trimpath -ldflags "-s -w $ldflags" "$pkg@$version"
  fi
  ln -sf "$dir/bin/$name" "$BIN/$name"
}

# CoreDNS from a module of our own that imports coremain and only the plugins the
# cluster's Corefile (test/services/cluster/coredns.yaml) uses: a fraction of the
# full build, which pulls every cloud provider's SDK. Plugin order comes from
# CoreDNS's own directive list, not from the imports.
provision_coredns() {
  local dir=$CACHE/coredns-$COREDNS_VERSION
  if [[ -x $dir/bin/coredns ]]; then say "coredns $COREDNS_VERSION: cached"; else
    mkdir -p "$dir/src"
    (
      cd "$dir/src"
      printf 'module selfless.test/coredns\n\ngo 1.24.0\n\nrequire github.com/coredns/coredns %s\n' "$COREDNS_VERSION" >go.mod
      {
        printf 'package main\n\nimport (\n\t_ "github.com/coredns/coredns/core/dnsserver"\n\t"github.com/coredns/coredns/coremain"\n'
        for p in cache errors forward health hosts kubernetes loadbalance log loop metrics ready reload; do
          printf '\t_ "github.com/coredns/coredns/plugin/%s"\n' "$p"
        done
        printf ')\n\nfunc main() { coremain.Run() }\n'
      } >main.go
      long "resolve coredns $COREDNS_VERSION modules" "$dir/tidy.log" go mod tidy
      long "build coredns $COREDNS_VERSION" "$dir/build.log" \
        go build -trimpath -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" -o "$dir/bin/coredns" .
    )
  fi
  ln -sf "$dir/bin/coredns" "$BIN/coredns"
}

# Everything the real single-node cluster (test/services/cluster.sh) needs on the
# host. Debian gives the container runtime, CNI plugins, etcd and the image tools;
# the Kubernetes binaries, crictl, CoreDNS and kube-router (the NetworkPolicy
# enforcer: the bridge CNI enforces none) are built from their Go modules, pinned.
# gcc/libc6-dev build the static pause binary; libcap2-bin gives setcap (CoreDNS binds
# :53 as non-root); prometheus scrapes the cluster in the monitoring tests.
provision_cluster() {
  need_root_apt containerd runc containernetworking-plugins etcd-server iptables ipset conntrack \
    socat podman buildah debootstrap gcc libc6-dev libcap2-bin curl prometheus
  provision_etcd
  provision_helm
  provision_kube kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl
  go_install crictl "$CRICTL_VERSION" sigs.k8s.io/cri-tools/cmd/crictl \
    "-X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION"
  provision_coredns
  go_install kube-router "$KUBE_ROUTER_VERSION" github.com/cloudnativelabs/kube-router/v2/cmd/kube-router \
    "-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION"
}

# Debian's Prometheus and promtool: the chart's alert rules are checked and unit-tested
# with promtool, and the end-to-end tests scrape the cluster with Prometheus. The
# Prometheus Operator's ServiceMonitor and PrometheusRule CRDs, from its Go module, let
# the chart's tests have an API server check both objects with no operator running.
provision_prometheus() {
  need_root_apt prometheus
  ln -sf "$(command -v prometheus)" "$BIN/prometheus"
  ln -sf "$(command -v promtool)" "$BIN/promtool"
  local dir=$CACHE/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION
  if [[ -f $dir/.complete ]]; then say "prometheus-operator CRDs $PROMETHEUS_OPERATOR_VERSION: cached"; else
    say "prometheus-operator $PROMETHEUS_OPERATOR_VERSION: its CRDs from the Go module"
    local src
    src=$(cd "$CACHE" && go mod download -json \
      "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" |
      sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
    # install, not cp: the module cache's files are read-only.
    install -D -m 0644 -t "$dir/crds" \
      "$src"/example/prometheus-operator-crd/monitoring.coreos.com_{servicemonitors,prometheusrules}.yaml
    touch "$dir/.complete"
  fi
  say "prometheus: $("$BIN/prometheus" --version 2>&1 | head -1 | cut -d' ' -f3)"
}

# The exact runtimes (Node.js, JDKs, the Java runtime interface client) and the test
# functions compiled from Java, Go and Rust sources (test/runtimes.test.ts).
provision_runtimes() {
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  long "runtimes (exact Node.js, JDKs, Java RIC)" "$CACHE/runtimes-fetch.log" \
    bash "$root/runtime-images/fetch-runtimes.sh"
  long "test functions built from Java, Go and Rust (cached by their sources)" \
    "$CACHE/builds.log" env -C "$root" node --import tsx test/support/build-functions.ts
}

services=("$@")
(( ${#services[@]} )) || services=(redis cql etcd kube helm ric awscli)
for s in "${services[@]}"; do
  case $s in
    redis) provision_redis ;;
    cql) provision_cql ;;
    etcd) provision_etcd ;;
    kube) provision_kube ;;
    helm) provision_helm ;;
    ric) provision_ric ;;
    awscli) provision_awscli ;;
    boto3) provision_boto3 ;;
    cluster) provision_cluster ;;
    prometheus) provision_prometheus ;;
    runtimes) provision_runtimes ;;
    *) say "unknown service $s (known: redis cql etcd kube helm ric awscli boto3 cluster prometheus runtimes)"; exit 2 ;;
  esac
done
say "all provisioned in $((SECONDS - start_all)) s"
echo "SELFLESS_BIN=$BIN"
