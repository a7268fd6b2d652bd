# Shared by the cluster scripts (sourced): where things live, which ports, how a
# daemon is started and stopped. The cluster is one node on this host: every
# Kubernetes component and containerd run as host processes, all state under
# $STATE, which `cluster.sh down` removes entirely. Binaries and images stay cached.

here_cluster=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$here_cluster/../../.." && pwd)
# shellcheck source=../versions.sh
source "$here_cluster/../versions.sh"

CACHE=${SELFLESS_CACHE:-$HOME/.cache/selfless}
BIN=$CACHE/bin
CLUSTER=$CACHE/cluster
STATE=${SELFLESS_CLUSTER_STATE:-$CLUSTER/state}
PKI=$STATE/pki
LOGS=$STATE/logs
RUNDIR=$STATE/run
ETC=$STATE/etc
export PATH=$BIN:/usr/sbin:/sbin:$PATH

NODE=$(hostname)
# The address pods, the host and the kubeconfig reach the node by: the source address
# of the default route (not loopback: pods cannot reach the host's 127.0.0.1).
HOSTIP=${SELFLESS_CLUSTER_IP:-$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')}

# Ports away from the defaults, so that a test service or a second etcd on this host
# does not collide (kubelet and kube-proxy keep theirs: their ports are host-wide).
ETCD_CLIENT_PORT=12379
ETCD_PEER_PORT=12380
APISERVER_PORT=6443
CQL_PORT=19042
CQL_STORAGE_PORT=17001
GATEWAY_NODEPORT=30080
TABLES_NODEPORT=30800

POD_CIDR=10.244.0.0/24
CLUSTER_CIDR=10.244.0.0/16
SERVICE_CIDR=10.96.0.0/12
DNS_IP=10.96.0.10
BRIDGE=cni0
NAMESPACE=selfless
RELEASE=selfless

# Images of the cluster's own parts, built by images.sh (not the project's images).
PAUSE_IMAGE=localhost/selfless-cluster/pause:static
COREDNS_IMAGE=localhost/selfless-cluster/coredns:${COREDNS_VERSION#v}
REDIS_IMAGE=localhost/selfless-cluster/redis:bookworm

# containerd's root holds the image store and the images' unpacked layers: a cache,
# like podman's storage, kept across `down` once no container is left in it (loading
# the nine images anew costs ~3 min here). Everything else of containerd is in $STATE.
CONTAINERD_ROOT=$CLUSTER/containerd
CONTAINERD_SOCK=$STATE/run/containerd/containerd.sock
KUBECONFIG_ADMIN=$STATE/admin.kubeconfig

# Progress lines count from the start of the outermost script (`up`, `down`), across
# the scripts it runs.
export SELFLESS_CLUSTER_T0=${SELFLESS_CLUSTER_T0:-$(date +%s)}
say() { printf '[cluster %4ds] %s\n' "$(($(date +%s) - SELFLESS_CLUSTER_T0))" "$*" >&2; }

kubectl_() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }
ctr_() { ctr --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"; }

running() { # name
  [[ -f $RUNDIR/$1.pid ]] && kill -0 "$(cat "$RUNDIR/$1.pid")" 2>/dev/null
}

# Starts a daemon in its own session (so that its children die with it on stop), with
# its pid in $RUNDIR and its output in $LOGS. Idempotent.
daemon() { # name cmd...
  local name=$1
  shift
  if running "$name"; then return 0; fi
  mkdir -p "$RUNDIR" "$LOGS"
  # 9 is cluster.sh's lock: a daemon holding it would block every later up/down.
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$RUNDIR/$name.pid"
  say "$name started (pid $!, log $LOGS/$name.log)"
}

# Waits for a command to succeed, up to a timeout; on timeout shows the daemon's log.
wait_for() { # what seconds log cmd...
  local what=$1 secs=$2 log=$3 t=$SECONDS
  shift 3
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS - t > secs)); then
      say "FAILED: $what not ready after $secs s${log:+; last lines of $log:}"
      [[ -n $log && -f $log ]] && tail -n 30 "$log" >&2
      return 1
    fi
    sleep 1
  done
}

# Stops a daemon by its pid file: TERM to its session, then KILL after a grace period.
stop_daemon() { # name [grace seconds]
  local name=$1 grace=${2:-15} pid
  [[ -f $RUNDIR/$name.pid ]] || return 0
  pid=$(cat "$RUNDIR/$name.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < grace * 5; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    say "$name stopped (pid $pid)"
  fi
  rm -f "$RUNDIR/$name.pid"
}
