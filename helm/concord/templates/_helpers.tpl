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

{{/* Object name of a workload: (dict "root" $ "key" "messaging") -> "<fullname>-messaging". */}}
{{- define "concord.resourceName" -}}
{{- printf "%s-%s" (include "concord.fullname" .root) .key | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Referral durations: values key -> flag. Rendered only for the keys set in referrals.durations
(otherwise the binary's legal defaults apply); "default" mirrors common/config/config.h for the
consistency checks in concord.validate.
*/}}
{{- define "concord.referralDurationFlags" -}}
centreResponseHours: {flag: "--referral-centre-response-hours", default: 24}
reflectionDays: {flag: "--referral-reflection-days", default: 45}
attestationMonths: {flag: "--referral-attestation-months", default: 3}
certificateMonths: {flag: "--referral-certificate-months", default: 6}
reflectionReminderDays: {flag: "--referral-reflection-reminder-days", default: 5}
documentReminderDays: {flag: "--referral-document-reminder-days", default: 14}
{{- end }}

{{/*
The enabled workloads as a YAML map key -> settings, each merged over .Values.defaults and
completed with derived names:
  key        map key ("server" in allInOne mode, the services: key in perService mode)
  resource   object name (<fullname>-<key>)
  binary     executable (concord-<key> unless set)
  spiffeId   spiffe://<trustDomain>/service/<binary>
  tlsSecret  Secret written by cert-manager
  modules    the service modules it hosts (allInOne: every module of concord-server; perService:
             its key). Each logs in to Redis as its own ACL user (redis.users.<module>).
  hostsAudit       true for the workload running the audit module ("server" / "audit"): it
                   exports the signed checkpoints (audit.checkpointExport volume)
  hostsReferrals   true for the workload running the referrals module ("server" in allInOne,
                   "referrals" in perService)
  notifier         hostsReferrals and referrals.notifier.enabled: mount the notifier Secret
  messagingTarget  perService with the notifier: "<fullname>-messaging:<ports.grpc>", the
                   messaging Service the notifier sends through (allInOne: empty = loopback)
  directoryNotifier  the workload running the directory module ("server" in allInOne,
                   "directory" in perService) with directory.notifier.enabled: mount its Secret
  directoryMessagingTarget  perService with the directory notifier: as messagingTarget
  liaisonNotifier  the workload running the liaison module ("server" in allInOne, "liaison" in
                   perService) with liaison.notifier.enabled: mount its Secret
  liaisonMessagingTarget  perService with the liaison notifier: as messagingTarget
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
{{- $_ := set $w "resource" (include "concord.resourceName" (dict "root" $root "key" $key)) }}
{{- if not $w.binary }}
{{- $_ := set $w "binary" (printf "concord-%s" $key) }}
{{- end }}
{{- $_ := set $w "spiffeId" (printf "spiffe://%s/service/%s" $root.Values.trustDomain $w.binary) }}
{{- $_ := set $w "tlsSecret" (printf "%s-tls" $w.resource) }}
{{- if eq $root.Values.mode "allInOne" }}
{{- $_ := set $w "modules" (include "concord.serverModules" $root | fromYamlArray) }}
{{- else }}
{{- $_ := set $w "modules" (list $key) }}
{{- end }}
{{- $_ := set $w "hostsAudit" (has "audit" $w.modules) }}
{{- $hosts := or (eq $root.Values.mode "allInOne") (eq $key "referrals") }}
{{- $_ := set $w "hostsReferrals" $hosts }}
{{- $_ := set $w "notifier" (and $hosts $root.Values.referrals.notifier.enabled) }}
{{- if and $w.notifier (ne $root.Values.mode "allInOne") }}
{{- $_ := set $w "messagingTarget" (printf "%s:%d" (include "concord.resourceName" (dict "root" $root "key" "messaging")) (int $root.Values.ports.grpc)) }}
{{- end }}
{{- $hostsDirectory := or (eq $root.Values.mode "allInOne") (eq $key "directory") }}
{{- $_ := set $w "directoryNotifier" (and $hostsDirectory (($root.Values.directory | default dict).notifier | default dict).enabled) }}
{{- if and $w.directoryNotifier (ne $root.Values.mode "allInOne") }}
{{- $_ := set $w "directoryMessagingTarget" (printf "%s:%d" (include "concord.resourceName" (dict "root" $root "key" "messaging")) (int $root.Values.ports.grpc)) }}
{{- end }}
{{- $hostsLiaison := or (eq $root.Values.mode "allInOne") (eq $key "liaison") }}
{{- $_ := set $w "liaisonNotifier" (and $hostsLiaison (($root.Values.liaison | default dict).notifier | default dict).enabled) }}
{{- if and $w.liaisonNotifier (ne $root.Values.mode "allInOne") }}
{{- $_ := set $w "liaisonMessagingTarget" (printf "%s:%d" (include "concord.resourceName" (dict "root" $root "key" "messaging")) (int $root.Values.ports.grpc)) }}
{{- end }}
{{- $_ := set $out $key $w }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/*
The modules concord-server hosts (exe/concord_server/main.cc), each with its Redis ACL user in
redis.users. A later module is added here and in redis.users.
*/}}
{{- define "concord.serverModules" -}}
- directory
- audit
- messaging
- referrals
- guidelines
- liaison
{{- end }}

{{/* CONCORD_REDIS_<MODULE>_PASSWORD for a module name. */}}
{{- define "concord.redisPasswordEnv" -}}
{{- printf "CONCORD_REDIS_%s_PASSWORD" (. | upper | replace "-" "_") }}
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
{{- $d := .Values.referrals.durations | default dict }}
{{- $flags := include "concord.referralDurationFlags" . | fromYaml }}
{{- $eff := dict }}
{{- range $k, $f := $flags }}
{{- $_ := set $eff $k (int (hasKey $d $k | ternary (get $d $k) $f.default)) }}
{{- end }}
{{- if ge $eff.reflectionReminderDays $eff.reflectionDays }}
{{- fail (printf "referrals.durations: reflectionReminderDays (%d) must be shorter than reflectionDays (%d)" $eff.reflectionReminderDays $eff.reflectionDays) }}
{{- end }}
{{- range $old, $new := dict "minorReflectionDays" "attestationMonths (an unaccompanied minor receives the 3-month attestation directly)" "attestationDays" "attestationMonths (calendar months)" "certificateDays" "certificateMonths (calendar months)" }}
{{- if hasKey $d $old }}
{{- fail (printf "referrals.durations.%s was replaced by %s" $old $new) }}
{{- end }}
{{- end }}
{{- if ge $eff.documentReminderDays (int (mul 28 $eff.attestationMonths)) }}
{{- fail (printf "referrals.durations: documentReminderDays (%d) must be shorter than attestationMonths (%d, a month counted as 28 days)" $eff.documentReminderDays $eff.attestationMonths) }}
{{- end }}
{{- if and (eq .Values.mode "perService") (hasKey $workloads "directory") .Values.directory.notifier.enabled (not (hasKey $workloads "messaging")) }}
{{- fail "directory.notifier.enabled in perService mode sends through the messaging Service: enable services.messaging too (or set directory.notifier.enabled=false: announcements then stay queued in Redis)" }}
{{- end }}
{{- if and (eq .Values.mode "perService") (hasKey $workloads "liaison") .Values.liaison.notifier.enabled (not (hasKey $workloads "messaging")) }}
{{- fail "liaison.notifier.enabled in perService mode sends through the messaging Service: enable services.messaging too (or set liaison.notifier.enabled=false: notifications then stay queued in Redis)" }}
{{- end }}
{{- if and (eq .Values.mode "perService") (hasKey $workloads "referrals") .Values.referrals.notifier.enabled (not (hasKey $workloads "messaging")) }}
{{- fail "referrals.notifier.enabled in perService mode sends through the messaging Service: enable services.messaging too (or set referrals.notifier.enabled=false: notifications then stay queued in Redis)" }}
{{- end }}
{{- range $key, $w := $workloads }}
{{- range $m := $w.modules }}
{{- if not (hasKey $.Values.redis.users $m) }}
{{- fail (printf "redis.users.%s is required: the Redis ACL user of the %s module (workload %s) and the Secret of its password" $m $m $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (not (or .Values.redis.networkPolicy.ipBlocks .Values.redis.networkPolicy.namespaceSelector .Values.redis.networkPolicy.podSelector)) }}
{{- fail "networkPolicy.enabled needs redis.networkPolicy.ipBlocks or a namespaceSelector/podSelector: egress is allowed to Redis and DNS only" }}
{{- end }}
{{- end }}

{{/* The referrals notifier's cert-manager Certificate (and, with "-tls", its Secret). */}}
{{- define "concord.notifierCertificate" -}}
{{- printf "%s-referrals-notifier" (include "concord.fullname" .) | trunc 57 | trimSuffix "-" }}
{{- end }}

{{/* The notifier secret's Secret: notifierSecret.existingSecret, or the one this chart generates. */}}
{{- define "concord.notifierSecret" -}}
{{- if .Values.notifierSecret.existingSecret }}
{{- .Values.notifierSecret.existingSecret }}
{{- else }}
{{- printf "%s-notifier-secret" (include "concord.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* "true" when some workload runs a notifier (it then needs the notifier secret). */}}
{{- define "concord.hasNotifier" -}}
{{- $any := false }}
{{- range $key, $w := include "concord.workloads" . | fromYaml }}
{{- if or $w.notifier $w.directoryNotifier $w.liaisonNotifier }}{{ $any = true }}{{ end }}
{{- end }}
{{- if $any }}true{{ end }}
{{- end }}
