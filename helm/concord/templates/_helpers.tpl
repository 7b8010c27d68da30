{{/*
Names and labels. Resource names are "<fullname>-<workload>", e.g. "concord-directory".
*/}}
{{- define "concord.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "concord.fullname" -}}
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

{{- define "concord.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels common to every object of the release. */}}
{{- define "concord.labels" -}}
helm.sh/chart: {{ include "concord.chart" . }}
{{ include "concord.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: concord
{{- end }}

{{- define "concord.selectorLabels" -}}
app.kubernetes.io/name: {{ include "concord.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Per-workload labels. Call with (dict "root" $ "w" $workload) where $workload comes from
"concord.workloads".
*/}}
{{- define "concord.workloadLabels" -}}
{{ include "concord.labels" .root }}
app.kubernetes.io/component: {{ .w.key }}
{{- end }}

{{- define "concord.workloadSelectorLabels" -}}
{{ include "concord.selectorLabels" .root }}
app.kubernetes.io/component: {{ .w.key }}
{{- end }}

{{/*
The enabled workloads as a YAML map key -> settings, each merged over .Values.defaults and
completed with derived names:
  key        map key ("server" in allInOne mode, the services: key in perService mode)
  resource   object name (<fullname>-<key>)
  binary     executable (concord-<key> unless set)
  spiffeId   spiffe://<trustDomain>/service/<binary>
  tlsSecret  Secret written by cert-manager
Usage: $workloads := include "concord.workloads" . | fromYaml
*/}}
{{- define "concord.workloads" -}}
{{- $root := . }}
{{- $entries := dict }}
{{- if eq .Values.mode "allInOne" }}
{{- $_ := set $entries "server" .Values.server }}
{{- else }}
{{- range $key, $svc := .Values.services }}
{{- if $svc.enabled }}
{{- $_ := set $entries $key $svc }}
{{- end }}
{{- end }}
{{- end }}
{{- $out := dict }}
{{- range $key, $entry := $entries }}
{{- $w := mergeOverwrite (deepCopy $root.Values.defaults) (deepCopy $entry) }}
{{- $_ := set $w "key" $key }}
{{- $_ := set $w "resource" (printf "%s-%s" (include "concord.fullname" $root) $key | trunc 63 | trimSuffix "-") }}
{{- if not $w.binary }}
{{- $_ := set $w "binary" (printf "concord-%s" $key) }}
{{- end }}
{{- $_ := set $w "spiffeId" (printf "spiffe://%s/service/%s" $root.Values.trustDomain $w.binary) }}
{{- $_ := set $w "tlsSecret" (printf "%s-tls" $w.resource) }}
{{- $_ := set $out $key $w }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/* The container image reference (digest wins over tag). */}}
{{- define "concord.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Fail early on combinations the schema cannot express. */}}
{{- define "concord.validate" -}}
{{- $workloads := include "concord.workloads" . | fromYaml }}
{{- if eq (len $workloads) 0 }}
{{- fail "no workload enabled: in perService mode enable at least one entry of services:" }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (not (or .Values.redis.networkPolicy.ipBlocks .Values.redis.networkPolicy.namespaceSelector .Values.redis.networkPolicy.podSelector)) }}
{{- fail "networkPolicy.enabled needs redis.networkPolicy.ipBlocks or a namespaceSelector/podSelector: egress is allowed to Redis and DNS only" }}
{{- end }}
{{- end }}
