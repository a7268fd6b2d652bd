# Pinned versions of everything the test services install or build: one place, sourced
# by provision.sh, the cluster scripts (test/services/cluster/) and the image build
# (runtime-images/images/build.sh). Bumping a version here makes the next run build it
# anew under a new cache key; the old build stays cached until deleted.

# Kubernetes: kube-apiserver and kubectl for the integration tests; with kubelet,
# kube-controller-manager, kube-scheduler and kube-proxy for the real cluster.
K8S_VERSION=v1.34.4
HELM_VERSION=v3.19.0
CASSANDRA_VERSION=5.0.6
NODE_RIC_VERSION=3.3.0
PYTHON_RIC_VERSION=4.2.2
AWSCLI_VERSION=1.46.2
# boto3 as the python runtime images carry it, for bench/snap-start (provision.sh boto3).
BOTO3_VERSION=1.44.5
# The ServiceMonitor and PrometheusRule CRDs the chart test checks against (provision.sh prometheus).
PROMETHEUS_OPERATOR_VERSION=v0.85.0

# The real cluster (provision.sh cluster).
CRICTL_VERSION=v1.34.0
COREDNS_VERSION=v1.12.1
KUBE_ROUTER_VERSION=v2.1.0
