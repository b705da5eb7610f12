{{/* The chart name, or nameOverride. */}}
{{- define "tokensync.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The base name of every object: the release name, prefixed with the chart name unless it already holds it. */}}
{{- define "tokensync.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "tokensync.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tokensync.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tokensync.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "tokensync.labels" -}}
helm.sh/chart: {{ include "tokensync.chart" . }}
{{ include "tokensync.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: tokensync
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "tokensync.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tokensync.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "tokensync.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
RBAC rules for the namespaced kinds tokensync reads and writes. Used by the ClusterRole when
every namespace is watched, and by one Role per namespace when watchNamespaces is a list.
*/}}
{{- define "tokensync.namespacedRules" -}}
# Its own namespaced kinds: watched (kopf) and read when a resource refers to another.
- apiGroups: [tokensync.dev]
  resources: [applicationtokens, ramapplications, cloudaccesses]
  verbs: [get, list, watch]
# A rotating (or Merge) ApplicationToken carries the finalizer tokensync.dev/cleanup, so that its
# deletion retires the tokens it made in IDaaS (removes the keys it merged): a metadata patch.
- apiGroups: [tokensync.dev]
  resources: [applicationtokens]
  verbs: [patch]
# Ready condition, expiry and sync times are reported on the status subresource only.
- apiGroups: [tokensync.dev]
  resources: [applicationtokens/status, ramapplications/status, cloudaccesses/status]
  verbs: [get, patch]
# Secrets: it writes the token Secrets (create, patch), reads the AccessKey Secrets a
# CloudAccess refers to, and watches Secrets to notice edits to either. No delete: with
# deletionPolicy Delete the Secret carries an ownerReference and Kubernetes' garbage
# collector removes it with its ApplicationToken.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, patch]
# ConfigMaps: it writes each RamApplication's ConfigMap (removed by the garbage collector
# through its ownerReference) and watches the ones it manages.
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch, create, patch]
# Events on its resources (Synced, Rotated, SyncFailed, ...); repeated ones are patched (count).
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
{{- if and .Values.rbac.rolloutRestart.enabled (not .Values.rbac.rolloutRestart.namespaces) }}
{{ include "tokensync.rolloutRestartRules" . }}
{{- end }}
{{- end -}}

{{/* rolloutRestartTargets (opt-in: rbac.rolloutRestart): restarting a workload patches its pod
template annotation, like `kubectl rollout restart`; nothing else is changed. */}}
{{- define "tokensync.rolloutRestartRules" -}}
- apiGroups: [apps]
  resources: [deployments, statefulsets, daemonsets]
  verbs: [get, patch]
{{- end -}}

{{/* RBAC rules for the cluster-scoped kinds, needed whatever the watched namespaces. */}}
{{- define "tokensync.clusterRules" -}}
# ClusterCloudAccess is cluster-scoped: watched, and its Ready condition reported on status.
- apiGroups: [tokensync.dev]
  resources: [clustercloudaccesses]
  verbs: [get, list, watch]
- apiGroups: [tokensync.dev]
  resources: [clustercloudaccesses/status]
  verbs: [get, patch]
# Namespaces' labels decide which namespaces a ClusterCloudAccess namespaceSelector admits
# (read when a resource uses it, and watched to notice relabelling).
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get, list, watch]
{{- end -}}
