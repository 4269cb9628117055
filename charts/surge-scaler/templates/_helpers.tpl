{{/* Chart name, truncated to a DNS label. */}}
{{- define "surge-scaler.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart unless the release name already contains the chart name. */}}
{{- define "surge-scaler.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Selector labels. */}}
{{- define "surge-scaler.selectorLabels" -}}
app.kubernetes.io/name: {{ include "surge-scaler.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Common labels. */}}
{{- define "surge-scaler.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "surge-scaler.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: surge
{{- end }}

{{/* ServiceAccount name. */}}
{{- define "surge-scaler.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "surge-scaler.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Name of the metrics API Service (a DNS-1035 label). */}}
{{- define "surge-scaler.metricsAPIService" -}}
{{- printf "%s-metrics-api" (include "surge-scaler.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name of the serving certificate Secret. */}}
{{- define "surge-scaler.certSecret" -}}
{{- if eq .Values.certificates.mode "secret" }}
{{- required "certificates.secretName is required when certificates.mode is secret" .Values.certificates.secretName }}
{{- else }}
{{- printf "%s-metrics-api-tls" (include "surge-scaler.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Leader election on: asked for, or forced by more than one replica. */}}
{{- define "surge-scaler.leaderElect" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicaCount) 1) }}true{{ else }}false{{ end }}
{{- end }}

{{/* Namespace of the leader election Lease. */}}
{{- define "surge-scaler.leaseNamespace" -}}
{{- default .Release.Namespace .Values.leaderElection.namespace }}
{{- end }}

{{/* Namespace of ClusterTriggerAuthentication secrets. */}}
{{- define "surge-scaler.clusterResourceNamespace" -}}
{{- default .Release.Namespace .Values.rbac.clusterResourceNamespace }}
{{- end }}

{{/* Image reference. */}}
{{- define "surge-scaler.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The metrics API's serving pair in helm mode, as JSON {crt, key, ca} (base64 PEM): the
existing Secret's on upgrade, else generated once per render and memoised so that the
Secret and the APIService's caBundle agree whatever the template order.
*/}}
{{- define "surge-scaler.tlsPair" -}}
{{- if not (hasKey .Values.certificates "_pair") }}
{{- $fullname := include "surge-scaler.fullname" . }}
{{- $svc := include "surge-scaler.metricsAPIService" . }}
{{- $secret := include "surge-scaler.certSecret" . }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace $secret }}
{{- if and $existing $existing.data (index $existing.data "ca.crt") }}
{{- $_ := set .Values.certificates "_pair" (dict "crt" (index $existing.data "tls.crt") "key" (index $existing.data "tls.key") "ca" (index $existing.data "ca.crt")) }}
{{- else }}
{{- $days := int .Values.certificates.durationDays }}
{{- $dns := list $svc (printf "%s.%s" $svc .Release.Namespace) (printf "%s.%s.svc" $svc .Release.Namespace) (printf "%s.%s.svc.cluster.local" $svc .Release.Namespace) }}
{{- $caPair := genCA (printf "%s-ca" $fullname) $days }}
{{- $cert := genSignedCert (printf "%s.%s.svc" $svc .Release.Namespace) nil $dns $days $caPair }}
{{- $_ := set .Values.certificates "_pair" (dict "crt" ($cert.Cert | b64enc) "key" ($cert.Key | b64enc) "ca" ($caPair.Cert | b64enc)) }}
{{- end }}
{{- end }}
{{- toJson (get .Values.certificates "_pair") }}
{{- end }}
