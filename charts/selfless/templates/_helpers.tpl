{{/* Names, labels and endpoints shared by the templates. */}}
{{- define "selfless.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "selfless.labels" -}}
app.kubernetes.io/part-of: selfless
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{/* selectorLabels <root> <component> */}}
{{- define "selfless.selector" -}}
app.kubernetes.io/name: selfless-{{ index . 1 }}
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
{{- end -}}

{{- define "selfless.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "selfless.gatewayUrl" -}}
http://{{ include "selfless.fullname" . }}-gateway.{{ .Release.Namespace }}.svc:{{ .Values.gateway.port }}
{{- end -}}

{{- define "selfless.tablesUrl" -}}
http://{{ include "selfless.fullname" . }}-tables.{{ .Release.Namespace }}.svc:{{ .Values.tables.port }}
{{- end -}}

{{- define "selfless.redisUrl" -}}
{{- if .Values.redis.enabled -}}
redis://{{ include "selfless.fullname" . }}-redis.{{ .Release.Namespace }}.svc:6379
{{- else -}}
{{ required "redis.external.url is required when redis.enabled is false" .Values.redis.external.url }}
{{- end -}}
{{- end -}}

{{- define "selfless.cqlContactPoints" -}}
{{- if .Values.scylla.enabled -}}
{{ include "selfless.fullname" . }}-scylla.{{ .Release.Namespace }}.svc:9042
{{- else -}}
{{ required "scylla.external.contactPoints is required when scylla.enabled is false" .Values.scylla.external.contactPoints }}
{{- end -}}
{{- end -}}

{{/* The external CQL contact points as host:port (9042 when one names no port). */}}
{{- define "selfless.cqlHostPorts" -}}
{{- $out := list -}}
{{- range splitList "," (include "selfless.cqlContactPoints" .) -}}
{{- $p := trim . -}}
{{- if regexMatch ":[0-9]+$" $p }}{{ $out = append $out $p }}{{ else }}{{ $out = append $out (printf "%s:9042" $p) }}{{ end -}}
{{- end -}}
{{ join "," $out }}
{{- end -}}

{{/* host:port of the external Redis (6379 when its URL names no port). */}}
{{- define "selfless.redisHostPort" -}}
{{- $host := (urlParse (required "redis.external.url is required when redis.enabled is false" .Values.redis.external.url)).host -}}
{{- if regexMatch ":[0-9]+$" $host }}{{ $host }}{{ else }}{{ $host }}:6379{{ end -}}
{{- end -}}

{{- define "selfless.workerTokenSecret" -}}
{{ .Values.workerToken.existingSecret | default (printf "%s-worker-token" (include "selfless.fullname" .)) }}
{{- end -}}

{{/* The hardened pod and container security contexts every component uses. */}}
{{- define "selfless.podSecurity" -}}
automountServiceAccountToken: false
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  fsGroup: 65532
  seccompProfile: { type: RuntimeDefault }
{{- end -}}

{{- define "selfless.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  runAsNonRoot: true
  capabilities: { drop: [ALL] }
{{- end -}}
