#!/usr/bin/env bash
# A real single-node Kubernetes on this host, with Selfless installed: the handle that
# end-to-end tests, benchmarks and users share.
#
#   bash test/services/cluster.sh up     # build what is missing, start, install, wait
#   bash test/services/cluster.sh down   # stop it all and leave nothing behind
#   bash test/services/cluster.sh env    # the last lines of `up` again, if it is up
#
# `up` prints as its last lines `KUBECONFIG=<path>`, `GATEWAY_URL=http://<addr>:<port>`
# and `TABLES_URL=http://<addr>:<port>` (preceded by `AWS_ACCESS_KEY_ID=` and
# `AWS_SECRET_ACCESS_KEY=` when the installed gateway requires signed requests); both
# URLs are NodePorts on the host's address. Progress goes to stderr.
#
# What runs (test/services/cluster/): containerd + runc + the bridge CNI (Debian),
# etcd (Debian), kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and
# kube-proxy v1.34 (one Go build), CoreDNS and kube-router as NetworkPolicy enforcer
# (Go builds), all as host processes; the project's images from `npm run images`,
# loaded into containerd; charts/selfless by `helm upgrade --install` with the
# in-chart Redis and Cassandra on the host as CQL. Needs root. State: one directory
# ($SELFLESS_CACHE/cluster/state), removed by `down`; binaries and images stay cached.
set -euo pipefail
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/cluster
# shellcheck source=cluster/common.sh
source "$dir/common.sh"

print_env() {
  [[ -f $KUBECONFIG_ADMIN ]] || return 1
  # The gateway's SigV4 keys (SELFLESS_ACCESS_KEYS, AKID:SECRET[,...]) when the chart
  # was given any, as a value or from a Secret.
  local keys env='{.spec.template.spec.containers[0].env[?(@.name=="SELFLESS_ACCESS_KEYS")]'
  keys=$(kubectl_ -n "$NAMESPACE" get deploy "$RELEASE-gateway" -o jsonpath="$env.value}" 2>/dev/null || true)
  if [[ -z $keys ]]; then
    local ref
    ref=$(kubectl_ -n "$NAMESPACE" get deploy "$RELEASE-gateway" \
      -o jsonpath="$env.valueFrom.secretKeyRef.name} $env.valueFrom.secretKeyRef.key}" 2>/dev/null || true)
    if [[ -n ${ref// /} ]]; then
      keys=$(kubectl_ -n "$NAMESPACE" get secret "${ref% *}" -o jsonpath="{.data.${ref#* }}" | base64 -d)
    fi
  fi
  if [[ -n $keys ]]; then
    local first=${keys%%,*}
    echo "AWS_ACCESS_KEY_ID=${first%%:*}"
    echo "AWS_SECRET_ACCESS_KEY=${first#*:}"
  fi
  echo "KUBECONFIG=$KUBECONFIG_ADMIN"
  echo "GATEWAY_URL=http://$HOSTIP:$GATEWAY_NODEPORT"
  echo "TABLES_URL=http://$HOSTIP:$TABLES_NODEPORT"
}

# An HTTP answer of any status through a NodePort: kube-proxy and the Service work.
answers() { curl -s -o /dev/null -m 5 "$1"; }

up() {
  if [[ $(id -u) -ne 0 ]]; then
    say "needs root (containerd, kubelet, iptables)"
    exit 1
  fi
  [[ -n $HOSTIP ]] || {
    say "no IPv4 default route: set SELFLESS_CLUSTER_IP"
    exit 1
  }
  say "provisioning (cached after the first run; cold: ~20 min of Go builds)"
  bash "$ROOT/test/services/provision.sh" cluster cql >/dev/null # its progress is on stderr
  mkdir -p "$STATE" "$LOGS"
  bash "$dir/pki.sh"
  bash "$dir/install.sh" --start-cassandra # it takes ~30 s to answer: start it first
  bash "$dir/start.sh"
  wait_for "node $NODE Ready" 180 "$LOGS/kubelet.log" \
    kubectl_ wait --for=condition=Ready "node/$NODE" --timeout=5s
  say "node $NODE Ready"
  bash "$dir/images.sh"
  wait_for "service account default" 60 "" kubectl_ get serviceaccount default
  COREDNS_IMAGE=$COREDNS_IMAGE DNS_IP=$DNS_IP envsubst '${COREDNS_IMAGE} ${DNS_IP}' <"$dir/coredns.yaml" |
    kubectl_ apply -f - >/dev/null
  kubectl_ -n kube-system rollout status deploy/coredns --timeout=180s >/dev/null
  say "CoreDNS ready"
  bash "$dir/install.sh"
  wait_for "gateway on $HOSTIP:$GATEWAY_NODEPORT" 60 "" answers "http://$HOSTIP:$GATEWAY_NODEPORT/"
  wait_for "table service on $HOSTIP:$TABLES_NODEPORT" 60 "" answers "http://$HOSTIP:$TABLES_NODEPORT/"
  say "cluster up in $(($(date +%s) - SELFLESS_CLUSTER_T0)) s"
  print_env
}

# One up or down at a time on a host: two would share $STATE and the host's rules.
# A second caller waits for the first (and says so) instead of racing it.
lock() {
  mkdir -p "$CLUSTER"
  exec 9>"$CLUSTER/lock"
  flock -n 9 || {
    say "waiting for another cluster.sh up/down on this host"
    flock 9
  }
}

case ${1:-} in
  up | down) lock ;;
esac
case ${1:-} in
  up) up ;;
  down)
    bash "$dir/stop.sh"
    say "cluster down"
    ;;
  env) print_env || {
    say "not up"
    exit 1
  } ;;
  *)
    echo "usage: bash test/services/cluster.sh up|down|env" >&2
    exit 2
    ;;
esac
