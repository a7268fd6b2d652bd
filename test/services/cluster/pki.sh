#!/usr/bin/env bash
# The cluster's certificates and kubeconfigs under $STATE/pki: one CA signs every
# component's client or serving certificate (what kubeadm would make), and an RSA key
# pair signs service-account tokens. Idempotent: existing files are kept. A new
# `up` after `down` makes a new CA, so nothing from an old cluster is trusted.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mkdir -p "$PKI"
cd "$PKI"
[[ -f ca.crt ]] || openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
  -subj "/CN=selfless-test-cluster-ca" 2>/dev/null
[[ -f sa.key ]] || {
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
}

# cert <file> <CN> [O] [subjectAltName]: client certificate, and serving too when it
# names hosts. Kubernetes takes the user from CN and the groups from O.
cert() {
  local name=$1 cn=$2 o=${3:-} san=${4:-}
  [[ -f $name.crt ]] && return 0
  openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "/CN=$cn${o:+/O=$o}" 2>/dev/null
  {
    echo 'basicConstraints=CA:FALSE'
    echo 'keyUsage=critical,digitalSignature,keyEncipherment'
    echo "extendedKeyUsage=${san:+serverAuth,}clientAuth"
    [[ -n $san ]] && echo "subjectAltName=$san"
  } >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$name.crt" -days 3650 \
    -extfile "$name.ext" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}
svc=DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
cert apiserver kube-apiserver '' "$svc,DNS:localhost,DNS:$NODE,IP:10.96.0.1,IP:127.0.0.1,IP:$HOSTIP"
cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
cert front-proxy-client front-proxy-client
cert admin kubernetes-admin system:masters
cert controller-manager system:kube-controller-manager
cert scheduler system:kube-scheduler
cert kube-proxy system:kube-proxy
cert kubelet "system:node:$NODE" system:nodes
cert kubelet-serving "system:node:$NODE" system:nodes "DNS:$NODE,DNS:localhost,IP:127.0.0.1,IP:$HOSTIP"

# The certificates are embedded, so a kubeconfig can be copied off the state dir.
for user in admin controller-manager scheduler kube-proxy kubelet; do
  cat >"$STATE/$user.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: selfless-test
    cluster:
      server: https://$HOSTIP:$APISERVER_PORT
      certificate-authority-data: $(base64 -w0 ca.crt)
users:
  - name: $user
    user:
      client-certificate-data: $(base64 -w0 "$user.crt")
      client-key-data: $(base64 -w0 "$user.key")
contexts:
  - name: selfless-test
    context: { cluster: selfless-test, user: $user, namespace: default }
current-context: selfless-test
EOF
  chmod 600 "$STATE/$user.kubeconfig"
done
