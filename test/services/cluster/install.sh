#!/usr/bin/env bash
# Installs charts/selfless on the running cluster with `helm upgrade --install` and
# waits until every component is Ready:
#   - CQL: Apache Cassandra (the test services' build, provision.sh cql) on the host,
#     reached by the table service at $HOSTIP:$CQL_PORT (the chart's scylla.external):
#     ScyllaDB has no image here and does not run on these machines.
#   - Redis: the in-chart StatefulSet, on a hostPath PersistentVolume under $STATE
#     (there is no volume provisioner on this node).
#   - gateway and table service as NodePort Services, so the host reaches both.
# Extra values: SELFLESS_CLUSTER_VALUES=<file> (given after ours, so it wins).
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# --- Cassandra on the host -------------------------------------------------------------------
cassandra_up() { (exec 3<>"/dev/tcp/$HOSTIP/$CQL_PORT") 2>/dev/null && grep -q 'Starting listening for CQL clients' "$LOGS/cassandra.log"; }
start_cassandra() {
  running cassandra && return 0
  local d=$STATE/cassandra lib=$CACHE/cassandra-$CASSANDRA_VERSION/lib
  mkdir -p "$d"
  cat >"$d/cassandra.yaml" <<EOF
cluster_name: selfless-test-cluster
num_tokens: 1
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
listen_address: 127.0.0.1
rpc_address: $HOSTIP
storage_port: $CQL_STORAGE_PORT
native_transport_port: $CQL_PORT
start_native_transport: true
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1:$CQL_STORAGE_PORT"
data_file_directories: [$d/data]
commitlog_directory: $d/commitlog
saved_caches_directory: $d/saved_caches
hints_directory: $d/hints
cdc_raw_directory: $d/cdc_raw
commitlog_sync: periodic
commitlog_sync_period: 10000ms
auto_snapshot: false
snapshot_on_duplicate_row_detection: false
EOF
  local opts
  mapfile -t opts < <(grep -vE '^\s*(#|$)' "$ROOT/test/services/cassandra/jvm.options")
  daemon cassandra nice -n 5 java "${opts[@]}" \
    -Dlogback.configurationFile="$ROOT/test/services/cassandra/logback.xml" \
    -Dcassandra.config="file://$d/cassandra.yaml" -Dcassandra-foreground=yes \
    -Dcassandra.storagedir="$d" -Dcassandra.logdir="$d" \
    -Dcassandra.skip_wait_for_gossip_to_settle=0 -Dcassandra.initial_token=0 -Dcassandra.ring_delay_ms=0 \
    -Dcassandra.superuser_setup_delay_ms=0 -cp "$lib/*" org.apache.cassandra.service.CassandraDaemon
}

if [[ ${1:-} == --start-cassandra ]]; then # cluster.sh starts it early: it takes a while
  start_cassandra
  exit 0
fi
start_cassandra
wait_for "Cassandra on $HOSTIP:$CQL_PORT" 240 "$LOGS/cassandra.log" cassandra_up
say "Cassandra $CASSANDRA_VERSION answers CQL on $HOSTIP:$CQL_PORT"

# --- storage for Redis ---------------------------------------------------------------------------
mkdir -p "$STATE/volumes/redis"
chown 999:999 "$STATE/volumes/redis"
kubectl_ apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolume
metadata:
  name: selfless-test-redis
  labels: { selfless.dev/test-cluster: "true" }
spec:
  capacity: { storage: 10Gi }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ''
  claimRef: { namespace: $NAMESPACE, name: data-$RELEASE-redis-0 }
  hostPath: { path: $STATE/volumes/redis, type: Directory }
EOF

# --- the chart -----------------------------------------------------------------------------
# Requests cut to fit two cores: the chart's defaults ask for ~1.1 CPU before any worker.
cat >"$STATE/values.yaml" <<EOF
gateway:
  service: { type: NodePort, nodePort: $GATEWAY_NODEPORT }
  resources: { requests: { cpu: 50m, memory: 128Mi } }
tables:
  service: { type: NodePort, nodePort: $TABLES_NODEPORT }
  resources: { requests: { cpu: 50m, memory: 128Mi } }
operator:
  resources: { requests: { cpu: 20m, memory: 96Mi } }
redis:
  enabled: true
  image: $REDIS_IMAGE
  storage: 1Gi
  resources: { requests: { cpu: 20m, memory: 64Mi } }
scylla:
  enabled: false
  external: { contactPoints: '$HOSTIP:$CQL_PORT', localDataCenter: datacenter1 }
EOF
# Images rebuilt under the same tag (images.sh lists them): the pods running the old
# bytes keep them until restarted, and helm sees no change to roll. Restart every
# Deployment and StatefulSet (the chart's and functions' workers) that runs one.
reloaded=$RUNDIR/reloaded-images
if [[ -s $reloaded ]]; then
  while read -r kind ns name images; do
    for img in $images; do
      if grep -qxF "$img" "$reloaded"; then
        kubectl_ -n "$ns" rollout restart "${kind,,}/$name" >/dev/null
        say "restarted ${kind,,} $ns/$name: its image $img was rebuilt"
        break
      fi
    done
  done < <(kubectl_ get deployments,statefulsets -A -o jsonpath='{range .items[*]}{.kind} {.metadata.namespace} {.metadata.name} {.spec.template.spec.containers[*].image} {.spec.template.spec.initContainers[*].image}{"\n"}{end}')
  rm -f "$reloaded"
fi

extra=()
[[ -n ${SELFLESS_CLUSTER_VALUES:-} ]] && extra=(-f "$SELFLESS_CLUSTER_VALUES")
t=$SECONDS
say "helm upgrade --install $RELEASE charts/selfless (namespace $NAMESPACE)"
if ! "$BIN/helm" upgrade --install "$RELEASE" "$ROOT/charts/selfless" --kubeconfig "$KUBECONFIG_ADMIN" \
  --namespace "$NAMESPACE" --create-namespace -f "$STATE/values.yaml" "${extra[@]}" \
  --wait --timeout 10m >"$LOGS/helm.log" 2>&1; then
  say "FAILED: helm upgrade --install; last lines of $LOGS/helm.log, then the pods:"
  tail -n 20 "$LOGS/helm.log" >&2
  kubectl_ -n "$NAMESPACE" get pods -o wide >&2 || true
  exit 1
fi
# --wait covers Deployments and StatefulSets; say what is Ready, component by component.
for kind in deployment statefulset; do
  for name in $(kubectl_ -n "$NAMESPACE" get "$kind" -o name); do
    kubectl_ -n "$NAMESPACE" rollout status "$name" --timeout=300s >/dev/null
    say "  ready: $name"
  done
done
say "chart installed and Ready in $((SECONDS - t)) s"
