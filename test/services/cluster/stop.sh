#!/usr/bin/env bash
# Stops the cluster and removes every trace of it: pods (their network namespaces,
# veths and CNI rules go with a CNI DEL), daemons, leftover shims and containers,
# mounts, the KUBE-*/CNI-* iptables rules and chains and kube-router's ipsets (kube-router's
# own cleanup panics without IPVS), the cni0 bridge, the kubelet's cgroups and log
# links, and $STATE. Safe to run twice and on a half-started cluster: each step
# looks at what is there. Binaries and images stay cached (podman's storage and
# containerd's image store, $CONTAINERD_ROOT, with no container left in it).
set -uo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

crictl_() { crictl --config "$ETC/crictl.yaml" "$@"; }

# 1. Pods, while containerd still runs: no kubelet to start them again, then each sandbox
#    stopped and removed (containerd runs the CNI DEL: veth, IP, per-pod rules).
stop_daemon kube-router
stop_daemon kubelet 30
if running containerd && [[ -S $CONTAINERD_SOCK ]]; then
  n=$(crictl_ pods -q 2>/dev/null | wc -l)
  if ((n > 0)); then
    crictl_ stopp $(crictl_ pods -q) >/dev/null 2>&1 || true
    crictl_ rmp -fa >/dev/null 2>&1 || true
    say "removed $n pod sandboxes"
  fi
  # Nothing but images may stay in containerd's root, the cache that outlives `down`.
  left=$(ctr_ containers ls -q 2>/dev/null)
  if [[ -n $left ]]; then
    for c in $left; do ctr_ tasks kill -s KILL "$c" >/dev/null 2>&1; done
    sleep 1
    for c in $left; do ctr_ tasks delete -f "$c" >/dev/null 2>&1; done
    ctr_ containers rm $left >/dev/null 2>&1 || true
    say "removed $(wc -w <<<"$left") containers without a sandbox"
  fi
fi

# 2. The daemons, in the reverse order of start.
for d in kube-proxy kube-scheduler kube-controller-manager kube-apiserver etcd cassandra containerd; do
  stop_daemon "$d" 30
done

# 3. Containers whose sandboxes were not removed (containerd was down): runc's state
#    is ours alone ($STATE/run/runc), so every container in it is the cluster's.
if [[ -d $STATE/run/runc ]]; then
  for root in "$STATE"/run/runc/*/; do
    [[ -d $root ]] || continue
    for id in $(runc --root "$root" list -q 2>/dev/null); do
      runc --root "$root" kill "$id" KILL 2>/dev/null
      runc --root "$root" delete --force "$id" 2>/dev/null
    done
  done
fi
# Shims are started by containerd in their own process groups: stop those whose
# address is our containerd's socket (by /proc, not by a name that other shims share).
for p in /proc/[0-9]*; do
  cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
  if [[ $cmd == *containerd-shim* && $cmd == *"$CONTAINERD_SOCK"* ]]; then
    kill -KILL "${p#/proc/}" 2>/dev/null && say "killed leftover shim ${p#/proc/}"
  fi
done

# 4. Mounts: everything under $STATE (overlay root filesystems, shm, volumes) and the pods'
#    network namespaces (containerd 1.6 keeps them in /run/netns as cni-<uuid>).
mapfile -t mounts < <(awk -v s="$STATE/" -v r="$CONTAINERD_ROOT/" '{ gsub(/\\040/, " ", $2) }
  index($2, s) == 1 || index($2, r) == 1 || $2 ~ "^/run/netns/cni-" || $2 ~ "^/var/run/netns/cni-" { print $2 }' /proc/mounts | sort -r -u)
for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
((${#mounts[@]})) && say "unmounted ${#mounts[@]} mounts"
for ns in /run/netns/cni-*; do [[ -e $ns ]] && ip netns delete "${ns##*/}" 2>/dev/null; done
# Creating the first one bind-mounts /run/netns on itself (to make it shared): once it
# holds no namespace, nobody needs that mount.
if mountpoint -q /run/netns && [[ -z $(ls -A /run/netns) ]]; then umount /run/netns 2>/dev/null; fi

# 5. iptables: kube-proxy's own cleanup, then every rule that jumps to a KUBE-* or CNI-*
#    chain and those chains themselves (kube-router's, the bridge plugin's masquerade
#    chains and portmap's), IPv4 and IPv6. The rules come from iptables-save, so each
#    is deleted as written (-A becomes -D).
[[ -x $BIN/kube-proxy ]] && "$BIN/kube-proxy" --cleanup >/dev/null 2>&1
for ipt in iptables ip6tables; do
  command -v "$ipt-save" >/dev/null || continue
  for t in filter nat mangle raw; do
    "$ipt-save" -t "$t" 2>/dev/null | grep -E -- '^-A .*-(j|g) (KUBE|CNI)-' | sed 's/^-A /-D /' |
      while read -r rule; do eval "$ipt -w -t $t $rule" 2>/dev/null; done
    chains=$("$ipt-save" -t "$t" 2>/dev/null | sed -n 's/^:\(\(KUBE\|CNI\)-[^ ]*\) .*/\1/p')
    for c in $chains; do "$ipt" -w -t "$t" -F "$c" 2>/dev/null; done
    for c in $chains; do "$ipt" -w -t "$t" -X "$c" 2>/dev/null; done
  done
done
# kube-router's ipsets (KUBE-SRC-*, KUBE-DST-*, kube-router-*), once no rule uses them.
for s in $(ipset list -n 2>/dev/null | grep -E '^(KUBE-|kube-router)'); do ipset destroy "$s" 2>/dev/null; done

# 6. Links: pods' veths went with their namespaces; the bridge stays until deleted.
ip link show "$BRIDGE" >/dev/null 2>&1 && ip link delete "$BRIDGE" && say "deleted bridge $BRIDGE"

# 7. What the kubelet writes outside its root dir: cgroups (cgroupfs driver) and the
#    /var/log/containers links into $STATE/pod-logs.
for c in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
  [[ -d $c ]] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
done
find /var/log/containers -maxdepth 1 -type l -lname "$STATE/*" -delete 2>/dev/null
rmdir /var/log/containers 2>/dev/null # only when empty: the kubelet made it
rm -f /var/lib/cni/results/selfless-* 2>/dev/null

# 8. The state itself.
if [[ -d $STATE ]]; then
  rm -rf "$STATE" 2>/dev/null || {
    say "could not remove all of $STATE (still mounted?):"
    awk -v s="$STATE/" 'index($2, s) == 1 { print "  " $2 }' /proc/mounts >&2
    exit 1
  }
  say "removed $STATE"
fi
exit 0
