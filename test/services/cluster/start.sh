#!/usr/bin/env bash
# Writes the node's configuration under $STATE/etc and starts, in order and each only
# if not running: containerd, etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet, kube-proxy and (once the Node exists) kube-router as the
# NetworkPolicy enforcer. Each wall this machine puts up is named where it is passed
# (see docs/development.md, "A real cluster").
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Writes stdin to a file only when it differs: kube-proxy exits when its configuration
# file is written, so a second `up` must leave unchanged files untouched.
put() { # file
  local tmp
  tmp=$(mktemp "$1.XXXX")
  cat >"$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; fi
}

mkdir -p "$ETC/cni/net.d" "$CONTAINERD_ROOT" "$STATE/run/containerd" "$STATE/kubelet" "$STATE/pod-logs" \
  "$STATE/etcd" "$STATE/cni" "$ETC/manifests" "$LOGS" "$RUNDIR"
chmod 700 "$STATE/etcd"

# --- containerd ------------------------------------------------------------------------
# State, runc's state and the CNI config live under $STATE, the image store in
# $CONTAINERD_ROOT: nothing in /run, /var/lib or /etc/cni is shared with podman or
# another containerd, and `down` removes one directory.
put "$ETC/containerd.toml" <<EOF
version = 2
root = "$CONTAINERD_ROOT"
state = "$STATE/run/containerd"
[grpc]
  address = "$CONTAINERD_SOCK"
[plugins."io.containerd.internal.v1.opt"]
  path = "$CONTAINERD_ROOT/opt"
[plugins."io.containerd.grpc.v1.cri"]
  # Built locally (cluster/images.sh): no registry to pull the usual pause from.
  sandbox_image = "$PAUSE_IMAGE"
  # Lowering oom_score_adj needs CAP_SYS_RESOURCE, which this machine lacks: without
  # this every sandbox fails ("can't get final child's PID from pipe: EOF").
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        Root = "$STATE/run/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$ETC/cni/net.d"
    max_conf_num = 1
EOF

# The bridge CNI: one /24 for this node's pods behind cni0, masqueraded to the outside.
# No promiscMode: with hairpinMode (a pod reaching itself through its Service) the
# bridge plugin refuses both at once.
put "$ETC/cni/net.d/10-selfless.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "selfless",
  "plugins": [
    {
      "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$POD_CIDR", "gateway": "${POD_CIDR%.0/24}.1" }]],
        "routes": [{ "dst": "0.0.0.0/0" }],
        "dataDir": "$STATE/cni"
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } },
    { "type": "loopback" }
  ]
}
EOF

put "$ETC/crictl.yaml" <<EOF
runtime-endpoint: unix://$CONTAINERD_SOCK
image-endpoint: unix://$CONTAINERD_SOCK
timeout: 30
EOF

# --- kubelet and kube-proxy ---------------------------------------------------------------
put "$ETC/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $PKI/ca.crt }
authorization: { mode: Webhook }
# Hybrid cgroup v1 with no systemd: cgroupfs, and v1 allowed (1.31+ refuse it by default).
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
clusterDNS: [$DNS_IP]
clusterDomain: cluster.local
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
staticPodPath: $ETC/manifests
podLogsDir: $STATE/pod-logs
resolvConf: /etc/resolv.conf
serializeImagePulls: false
maxPods: 250
podPidsLimit: 4096
evictionHard: { memory.available: 200Mi, nodefs.available: 5%, imagefs.available: 5% }
imageGCHighThresholdPercent: 95
imageGCLowThresholdPercent: 90
# No CAP_SYS_RESOURCE: the kubelet may not lower its own or its containers' OOM score.
oomScoreAdj: 0
EOF
put "$ETC/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: { kubeconfig: $STATE/kube-proxy.kubeconfig }
hostnameOverride: $NODE
mode: iptables
clusterCIDR: $CLUSTER_CIDR
# Leave nf_conntrack_max as the host has it (setting it needs a writable /proc/sys/net).
conntrack: { maxPerCore: 0 }
oomScoreAdj: 0
EOF

# Pods reach Services through the bridge: bridged traffic must pass iptables.
modprobe br_netfilter 2>/dev/null || true
sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1

# --- the daemons ------------------------------------------------------------------------
daemon containerd containerd --config "$ETC/containerd.toml"
daemon etcd etcd --name selfless-test --data-dir "$STATE/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "selfless-test=http://127.0.0.1:$ETCD_PEER_PORT" --listen-metrics-urls "http://127.0.0.1:12381"
wait_for etcd 60 "$LOGS/etcd.log" curl -sf "http://127.0.0.1:$ETCD_CLIENT_PORT/health"

daemon kube-apiserver kube-apiserver \
  --etcd-servers="http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --advertise-address="$HOSTIP" --bind-address=0.0.0.0 --secure-port="$APISERVER_PORT" \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --client-ca-file="$PKI/ca.crt" \
  --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority="$PKI/ca.crt" --kubelet-preferred-address-types=InternalIP,Hostname \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range="$SERVICE_CIDR" --service-node-port-range=30000-32767 \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --requestheader-client-ca-file="$PKI/ca.crt" --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --proxy-client-cert-file="$PKI/front-proxy-client.crt" --proxy-client-key-file="$PKI/front-proxy-client.key" \
  --allow-privileged=true --profiling=false
wait_for kube-apiserver 120 "$LOGS/kube-apiserver.log" kubectl_ get --raw /readyz

# One node, so no leader election: a second instance is never started.
daemon kube-controller-manager kube-controller-manager \
  --kubeconfig="$STATE/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$STATE/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$STATE/controller-manager.kubeconfig" \
  --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" --root-ca-file="$PKI/ca.crt" \
  --service-account-private-key-file="$PKI/sa.key" --use-service-account-credentials=true \
  --allocate-node-cidrs=true --cluster-cidr="$CLUSTER_CIDR" --node-cidr-mask-size=24 \
  --service-cluster-ip-range="$SERVICE_CIDR" --leader-elect=false --bind-address=127.0.0.1
daemon kube-scheduler kube-scheduler \
  --kubeconfig="$STATE/scheduler.kubeconfig" \
  --authentication-kubeconfig="$STATE/scheduler.kubeconfig" --authorization-kubeconfig="$STATE/scheduler.kubeconfig" \
  --leader-elect=false --bind-address=127.0.0.1

wait_for containerd 60 "$LOGS/containerd.log" ctr --address "$CONTAINERD_SOCK" version
daemon kubelet kubelet --config="$ETC/kubelet.yaml" --kubeconfig="$STATE/kubelet.kubeconfig" \
  --root-dir="$STATE/kubelet" --node-ip="$HOSTIP" --hostname-override="$NODE"
daemon kube-proxy kube-proxy --config="$ETC/kube-proxy.yaml"

# kube-router exits ("failed to identify the node") if started before the Node object
# exists. Firewall only: routing, service proxy and CNI stay with the bridge and
# kube-proxy.
wait_for "node $NODE registered" 120 "$LOGS/kubelet.log" kubectl_ get node "$NODE"
daemon kube-router kube-router --kubeconfig="$KUBECONFIG_ADMIN" --hostname-override="$NODE" \
  --run-firewall=true --run-router=false --run-service-proxy=false --enable-cni=false \
  --service-cluster-ip-range="$SERVICE_CIDR" --iptables-sync-period=30s
