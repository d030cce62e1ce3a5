{{/*
Names and labels of the chart's objects. With the release name "frappe-operator" every name is the
one of config/install.yaml (docs/helm.md).
*/}}

{{/* The app name: the chart name unless nameOverride. */}}
{{- define "frappe-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object's name: fullnameOverride, else the release name if it contains the
chart name, else "<release>-<chart>". At most 28 characters, so that
"<fullname>-controller-manager-metrics-service" fits the 63 of a Service name.
*/}}
{{- define "frappe-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 28 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 28 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 28 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "frappe-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The label of config/install.yaml's objects, on every object. Never
app.kubernetes.io/managed-by: frappe-operator: the operator's informers select its children so.
*/}}
{{- define "frappe-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "frappe-operator.name" . }}
{{- end }}

{{/* The manager's Deployment, pods and metrics Service (the ServiceMonitor selects control-plane). */}}
{{- define "frappe-operator.managerSelectorLabels" -}}
{{ include "frappe-operator.selectorLabels" . }}
control-plane: controller-manager
{{- end }}

{{/* Helm's standard labels, added to the bundle's in every object's metadata. */}}
{{- define "frappe-operator.helmLabels" -}}
helm.sh/chart: {{ include "frappe-operator.chart" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "frappe-operator.labels" -}}
{{ include "frappe-operator.selectorLabels" . }}
{{ include "frappe-operator.helmLabels" . }}
{{- end }}

{{- define "frappe-operator.managerLabels" -}}
{{ include "frappe-operator.managerSelectorLabels" . }}
{{ include "frappe-operator.helmLabels" . }}
{{- end }}

{{/* The Deployment's name, also its ServiceAccount's (unless serviceAccount.name). */}}
{{- define "frappe-operator.managerName" -}}
{{- include "frappe-operator.fullname" . }}-controller-manager
{{- end }}

{{- define "frappe-operator.serviceAccountName" -}}
{{- default (include "frappe-operator.managerName" .) .Values.serviceAccount.name }}
{{- end }}

{{/*
The operator's ConfigMap. Its name is fixed: the operator reads frappe-operator-config in its own
namespace (OPERATOR_CONFIGMAP_NAME of src/config/operator-config.ts).
*/}}
{{- define "frappe-operator.configMapName" -}}
frappe-operator-config
{{- end }}

{{/* The manager's image: repository:tag, the tag defaulting to the chart's appVersion. */}}
{{- define "frappe-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}

{{/*
operatorConfig key → the manager's env variable (CONFIG_SPEC of src/config/operator-config.ts,
docs/configuration.md). operatorImage is apart: FRAPPE_OPERATOR_IMAGE is always set.
*/}}
{{- define "frappe-operator.configEnv" -}}
maxConcurrentSiteReconciles: FRAPPE_MAX_CONCURRENT_SITE_RECONCILES
maxConcurrentReconciles: FRAPPE_MAX_CONCURRENT_RECONCILES
defaultFrappeImage: FRAPPE_DEFAULT_FRAPPE_IMAGE
enforceHTTPS: FRAPPE_ENFORCE_HTTPS
defaultClusterIssuer: FRAPPE_DEFAULT_CLUSTER_ISSUER
defaultIngressClassName: FRAPPE_DEFAULT_INGRESS_CLASS
defaultRedisImage: FRAPPE_DEFAULT_REDIS_IMAGE
defaultRedisExporterImage: FRAPPE_DEFAULT_REDIS_EXPORTER_IMAGE
defaultStatsdExporterImage: FRAPPE_DEFAULT_STATSD_EXPORTER_IMAGE
defaultMariaDBImage: FRAPPE_DEFAULT_MARIADB_IMAGE
metricsAuth: FRAPPE_METRICS_AUTH
watchNamespaces: FRAPPE_WATCH_NAMESPACES
defaultUID: FRAPPE_DEFAULT_UID
defaultGID: FRAPPE_DEFAULT_GID
defaultFSGroup: FRAPPE_DEFAULT_FSGROUP
isOpenShift: FRAPPE_IS_OPENSHIFT
logLevel: FRAPPE_LOG_LEVEL
{{- end }}

{{/*
The env of the operatorConfig values that are set (not null, "" or []), sorted by key; a list
(watchNamespaces) is joined with commas. An unknown key fails the render.
*/}}
{{- define "frappe-operator.operatorConfigEnv" -}}
{{- $envs := include "frappe-operator.configEnv" . | fromYaml }}
{{- range $key, $value := .Values.operatorConfig }}
{{- if and (not (hasKey $envs $key)) (ne $key "operatorImage") }}
{{- fail (printf "operatorConfig.%s: unknown setting (see docs/helm.md)" $key) }}
{{- end }}
{{- if and (hasKey $envs $key) (not (kindIs "invalid" $value)) }}
{{- $str := toString $value }}
{{- if kindIs "slice" $value }}{{ $str = join "," $value }}{{ end }}
{{- /* YAML numbers arrive as float64: 1000680000, not 1.00068e+09 */}}
{{- if kindIs "float64" $value }}{{ $str = $value | int64 | toString }}{{ end }}
{{- if ne $str "" }}
- name: {{ get $envs $key }}
  value: {{ $str | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
