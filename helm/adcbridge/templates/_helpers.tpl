{{/*
Names, labels, the bridge's settings and its container, shared by every template.

The settings ("adcbridge.settings") are computed once from the values and read back by the
ConfigMap, the RBAC and the NOTES, so the permissions granted always follow the settings the
bridge actually runs with — including anything set through .Values.settings.
*/}}

{{- define "adcbridge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "adcbridge.fullname" -}}
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

{{- define "adcbridge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "adcbridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "adcbridge.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "adcbridge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: adc-bridge
{{- end }}

{{/* A cluster-wide name: the release's full name and namespace (ClusterRoles are not namespaced). */}}
{{- define "adcbridge.clusterName" -}}
{{- printf "%s-%s" (include "adcbridge.fullname" .) .Release.Namespace }}
{{- end }}

{{- define "adcbridge.kicNamespace" -}}
{{- default .Release.Namespace .Values.kic.namespace }}
{{- end }}

{{/* "<namespace>.<release>": unique per release, and a valid owner id (at most 63 characters). */}}
{{- define "adcbridge.ownerId" -}}
{{- if .Values.ownerId }}
{{- .Values.ownerId }}
{{- else }}
{{- $id := printf "%s.%s" .Release.Namespace .Release.Name }}
{{- if gt (len $id) 63 }}
{{- fail (printf "ownerId: the default %q is longer than 63 characters; set ownerId" $id) }}
{{- end }}
{{- $id }}
{{- end }}
{{- end }}

{{- define "adcbridge.serviceAccountName" -}}
{{- if eq .Values.mode "sidecar" }}
{{- .Values.kic.serviceAccountName }}
{{- else }}
{{- default (include "adcbridge.fullname" .) .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "adcbridge.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The Secret the chart writes, when credentials are given as values rather than an existing Secret. */}}
{{- define "adcbridge.chartSecretName" -}}
{{- include "adcbridge.fullname" . }}
{{- end }}

{{- define "adcbridge.credentialsSecret" -}}
{{- default (include "adcbridge.chartSecretName" .) .Values.adc.credentials.existingSecret }}
{{- end }}

{{- define "adcbridge.usesRfc2136" -}}
{{- if has "rfc2136" .Values.dns.targets }}true{{ end }}
{{- end }}

{{- define "adcbridge.tsigSecret" -}}
{{- default (include "adcbridge.chartSecretName" .) .Values.rfc2136.tsigSecret.existingSecret }}
{{- end }}

{{/* True when the chart must write a Secret of its own. */}}
{{- define "adcbridge.writesSecret" -}}
{{- if not .Values.adc.credentials.existingSecret }}true{{ end }}
{{- if and (include "adcbridge.usesRfc2136" .) (not .Values.rfc2136.tsigSecret.existingSecret) }}true{{ end }}
{{- end }}

{{/* Where files appear in the container. */}}
{{- define "adcbridge.configFile" -}}/etc/adcbridge/config/adcbridge.yaml{{- end }}
{{- define "adcbridge.secretsDir" -}}/var/run/secrets/adcbridge{{- end }}
{{- define "adcbridge.caFile" -}}/etc/adcbridge/ca/ca.crt{{- end }}
{{- define "adcbridge.clientDir" -}}/etc/adcbridge/client{{- end }}
{{- define "adcbridge.hasCaBundle" -}}
{{- if or .Values.adc.caBundle.secretName .Values.adc.caBundle.configMapName }}true{{ end }}
{{- end }}

{{/*
The bridge's settings file (config/adcbridge.example.yaml documents every field), as YAML.
No secret is ever written here: credentials are files in the secrets directory.
*/}}
{{- define "adcbridge.settings" -}}
{{- $v := .Values }}
{{- $adc := dict "dialect" $v.adc.dialect "url" $v.adc.url "verify_tls" $v.adc.verifyTls "partition" $v.adc.partition "allow_default_partition" $v.adc.allowDefaultPartition "snat" $v.adc.snat }}
{{- if $v.adc.gtmServer }}
{{- $_ := set $adc "gtm_server" $v.adc.gtmServer }}
{{- end }}
{{- if include "adcbridge.hasCaBundle" . }}
{{- $_ := set $adc "ca_file" (include "adcbridge.caFile" .) }}
{{- end }}
{{- if $v.adc.configSyncGroup }}
{{- $_ := set $adc "config_sync_group" $v.adc.configSyncGroup }}
{{- end }}
{{- if $v.adc.clientCertificateSecret }}
{{- $_ := set $adc "client_cert" (printf "%s/tls.crt" (include "adcbridge.clientDir" .)) }}
{{- $_ := set $adc "client_key" (printf "%s/tls.key" (include "adcbridge.clientDir" .)) }}
{{- end }}
{{- $kic := dict "namespace" (include "adcbridge.kicNamespace" .) "service" $v.kic.service "ingress_class" $v.kic.ingressClass "ports" $v.kic.ports }}
{{- $nodes := dict "address_type" $v.nodes.addressType "label_selector" $v.nodes.labelSelector "include_unschedulable" $v.nodes.includeUnschedulable "drain_grace_seconds" $v.nodes.drainGraceSeconds }}
{{- $dns := dict "targets" $v.dns.targets "ttl" $v.dns.ttl "verify" $v.dns.verify "verify_servers" $v.dns.verifyServers }}
{{- if $v.dns.verifyDeadline }}
{{- $_ := set $dns "verify_deadline" $v.dns.verifyDeadline }}
{{- end }}
{{- $kube := dict "namespaces" $v.watch.namespaces "label_selector" $v.watch.labelSelector "events" $v.events "write_status" $v.writeStatus }}
{{- $le := $v.leaderElection }}
{{- $leader := dict "enabled" $le.enabled "lease_name" $le.leaseName "lease_duration_seconds" $le.leaseDurationSeconds "renew_deadline_seconds" $le.renewDeadlineSeconds "retry_period_seconds" $le.retryPeriodSeconds }}
{{- $server := dict "listen" (printf "%s:%d" $v.metrics.address (int $v.metrics.port)) }}
{{- $settings := dict "owner_id" (include "adcbridge.ownerId" .) "policy" $v.policy "dry_run" $v.dryRun "secrets_dir" (include "adcbridge.secretsDir" .) "adc" $adc "kic" $kic "vip" (dict "addresses" $v.vip.addresses) "nodes" $nodes "dns" $dns "kube" $kube "leader" $leader "server" $server "log" (dict "format" $v.log.format "level" $v.log.level) }}
{{- if include "adcbridge.usesRfc2136" . }}
{{- $r := $v.rfc2136 }}
{{- $_ := set $settings "rfc2136" (dict "server" $r.server "zones" $r.zones "tsig_key_name" $r.tsigKeyName "tsig_algorithm" $r.tsigAlgorithm) }}
{{- end }}
{{- toYaml (mustMergeOverwrite $settings (deepCopy $v.settings)) }}
{{- end }}

{{/* The container, the same in both modes but for the readiness probe (see below). */}}
{{- define "adcbridge.container" -}}
name: adcbridge
image: {{ include "adcbridge.image" . | quote }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
args: ["--config", {{ include "adcbridge.configFile" . | quote }}]
env:
  # Leader election identity: the pod's name.
  - name: ADCBRIDGE_LEADER__IDENTITY
    valueFrom:
      fieldRef:
        fieldPath: metadata.name
  {{- with .Values.extraEnv }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
ports:
  - name: http-adcbridge
    containerPort: {{ .Values.metrics.port }}
    protocol: TCP
livenessProbe:
  httpGet:
    path: /healthz
    port: http-adcbridge
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
{{- if eq .Values.mode "standalone" }}
{{- /* Not in sidecar mode: an unready container makes the whole KIC pod unready, and an ADC
       outage must never take the KIC out of its own Service. */}}
readinessProbe:
  httpGet:
    path: /readyz
    port: http-adcbridge
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 3
{{- end }}
resources:
  {{- toYaml .Values.resources | nindent 2 }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
volumeMounts:
  - name: adcbridge-config
    mountPath: /etc/adcbridge/config
    readOnly: true
  # The whole Secret as a directory, never subPath: Kubernetes then updates the files in place
  # when the Secret changes, and the bridge reads them at every login.
  - name: adcbridge-secrets
    mountPath: {{ include "adcbridge.secretsDir" . }}
    readOnly: true
  {{- if include "adcbridge.hasCaBundle" . }}
  - name: adcbridge-ca
    mountPath: /etc/adcbridge/ca
    readOnly: true
  {{- end }}
  {{- if .Values.adc.clientCertificateSecret }}
  - name: adcbridge-client-cert
    mountPath: {{ include "adcbridge.clientDir" . }}
    readOnly: true
  {{- end }}
  - name: adcbridge-tmp
    mountPath: /tmp
{{- end }}

{{/* The volumes the container mounts (file mode 0444: only this container mounts them). */}}
{{- define "adcbridge.volumes" -}}
- name: adcbridge-config
  configMap:
    name: {{ include "adcbridge.fullname" . }}
    defaultMode: 0444
- name: adcbridge-secrets
  projected:
    defaultMode: 0444
    sources:
      - secret:
          name: {{ include "adcbridge.credentialsSecret" . }}
          items:
            - key: {{ .Values.adc.credentials.usernameKey }}
              path: adc-username
            - key: {{ .Values.adc.credentials.passwordKey }}
              path: adc-password
      {{- if include "adcbridge.usesRfc2136" . }}
      - secret:
          name: {{ include "adcbridge.tsigSecret" . }}
          items:
            - key: {{ .Values.rfc2136.tsigSecret.key }}
              path: rfc2136-tsig-secret
      {{- end }}
{{- with .Values.adc.caBundle }}
{{- if .secretName }}
- name: adcbridge-ca
  secret:
    secretName: {{ .secretName }}
    defaultMode: 0444
    items:
      - key: {{ .key }}
        path: ca.crt
{{- else if .configMapName }}
- name: adcbridge-ca
  configMap:
    name: {{ .configMapName }}
    defaultMode: 0444
    items:
      - key: {{ .key }}
        path: ca.crt
{{- end }}
{{- end }}
{{- if .Values.adc.clientCertificateSecret }}
- name: adcbridge-client-cert
  secret:
    secretName: {{ .Values.adc.clientCertificateSecret }}
    defaultMode: 0444
    items:
      - key: tls.crt
        path: tls.crt
      - key: tls.key
        path: tls.key
{{- end }}
- name: adcbridge-tmp
  emptyDir:
    sizeLimit: 16Mi
{{- end }}

{{/* The checksum that rolls the pods when the settings change (Secrets are read live instead). */}}
{{- define "adcbridge.settingsChecksum" -}}
{{- include "adcbridge.settings" . | sha256sum }}
{{- end }}

{{/* The KIC chart's values that run adcbridge as a sidecar (printed by NOTES.txt in sidecar mode). */}}
{{- define "adcbridge.kicValues" -}}
{{- $container := include "adcbridge.container" . | fromYaml }}
{{- $volumes := include "adcbridge.volumes" . | fromYamlArray }}
{{- $pod := dict "annotations" (dict "checksum/adcbridge-settings" (include "adcbridge.settingsChecksum" .)) }}
{{- toYaml (dict "controller" (dict "extraContainers" (list $container) "volumes" $volumes "pod" $pod)) }}
{{- end }}

{{/* Rules values.schema.json cannot say; each failure names the value. */}}
{{- define "adcbridge.validate" -}}
{{- if and (eq .Values.mode "sidecar") .Values.kic.namespace (ne .Values.kic.namespace .Release.Namespace) }}
{{- fail (printf "kic.namespace: in sidecar mode install the release into the KIC's namespace %q (a pod mounts only Secrets and ConfigMaps of its own namespace)" .Values.kic.namespace) }}
{{- end }}
{{- $le := .Values.leaderElection }}
{{- if not (and (lt (float64 $le.retryPeriodSeconds) (float64 $le.renewDeadlineSeconds)) (lt (float64 $le.renewDeadlineSeconds) (float64 $le.leaseDurationSeconds))) }}
{{- fail "leaderElection: needs retryPeriodSeconds < renewDeadlineSeconds < leaseDurationSeconds" }}
{{- end }}
{{- end }}

{{/*
The groups of alerts/adcbridge.rules.yaml with prometheusRule.alerts applied, by alert name:
enabled: false drops the alert; for and severity replace the file's; threshold replaces N in an
expression that ends in "> N" (and fails for any other).
*/}}
{{- define "adcbridge.ruleGroups" -}}
{{- $tuning := .Values.prometheusRule.alerts }}
{{- $groups := list }}
{{- range $group := (.Files.Get "alerts/adcbridge.rules.yaml" | fromYaml).groups }}
{{- $rules := list }}
{{- range $file := $group.rules }}
{{- $rule := deepCopy $file }}
{{- $tune := get $tuning $rule.alert | default dict }}
{{- if hasKey $tune "for" }}
{{- $_ := set $rule "for" $tune.for }}
{{- end }}
{{- if hasKey $tune "severity" }}
{{- $_ := set $rule.labels "severity" $tune.severity }}
{{- end }}
{{- if hasKey $tune "threshold" }}
{{- if not (regexMatch "> [0-9.]+$" $rule.expr) }}
{{- fail (printf "prometheusRule.alerts.%s.threshold: this alert's expression does not end in a threshold (%s)" $rule.alert $rule.expr) }}
{{- end }}
{{- $_ := set $rule "expr" (regexReplaceAll "> [0-9.]+$" $rule.expr (printf "> %v" $tune.threshold)) }}
{{- end }}
{{- if not (eq (toString (get $tune "enabled")) "false") }}
{{- $rules = append $rules $rule }}
{{- end }}
{{- end }}
{{- $groups = append $groups (merge (dict "rules" $rules) (omit $group "rules")) }}
{{- end }}
{{- toYaml $groups }}
{{- end }}
