{{/* Chart name, truncated to a DNS label. */}}
{{- define "surge-vnode.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart unless the release name already contains the chart name. */}}
{{- define "surge-vnode.fullname" -}}
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

{{- define "surge-vnode.selectorLabels" -}}
app.kubernetes.io/name: {{ include "surge-vnode.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "surge-vnode.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "surge-vnode.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: surge
{{- end }}

{{- define "surge-vnode.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "surge-vnode.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The virtual Node's name. */}}
{{- define "surge-vnode.nodeName" -}}
{{- default (include "surge-vnode.fullname" .) .Values.nodeName }}
{{- end }}

{{- define "surge-vnode.certSecret" -}}
{{- if eq .Values.kubelet.certificate "secret" }}
{{- required "kubelet.secretName is required when kubelet.certificate is secret" .Values.kubelet.secretName }}
{{- else }}
{{- printf "%s-kubelet-tls" (include "surge-vnode.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
