{{/*
Named templates shared by the chart's manifests.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "backoff-guard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of every resource (and of the Service the certificate is issued for):
fullnameOverride, else <release>-<chart> unless the release name already contains the chart name.
*/}}
{{- define "backoff-guard.fullname" -}}
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

{{/* chart label value: <name>-<version>. */}}
{{- define "backoff-guard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every resource. */}}
{{- define "backoff-guard.labels" -}}
helm.sh/chart: {{ include "backoff-guard.chart" . }}
{{ include "backoff-guard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: backoff-guard
{{- end }}

{{/* Labels that select the webhook pods (Deployment selector, Service, PDB, spread, ServiceMonitor). */}}
{{- define "backoff-guard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "backoff-guard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount the pods run as. */}}
{{- define "backoff-guard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "backoff-guard.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image reference: repository@digest, else repository:tag (tag defaults to appVersion). */}}
{{- define "backoff-guard.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The Secret holding tls.crt/tls.key (and ca.crt in modes generate and certManager). */}}
{{- define "backoff-guard.tlsSecretName" -}}
{{- if eq .Values.tls.mode "secret" }}
{{- required "tls.secret.name is required when tls.mode is secret" .Values.tls.secret.name }}
{{- else }}
{{- printf "%s-tls" (include "backoff-guard.fullname" .) }}
{{- end }}
{{- end }}

{{/*
DNS names the serving certificate is valid for, as a YAML list: <svc>, <svc>.<ns>, <svc>.<ns>.svc,
<svc>.<ns>.svc.<clusterDomain>, then tls.extraDNSNames (backoff-guard.generatedTls lists the same).
*/}}
{{- define "backoff-guard.dnsNames" -}}
{{- $svc := include "backoff-guard.fullname" . }}
{{- $ns := .Release.Namespace -}}
- {{ $svc }}
- {{ printf "%s.%s" $svc $ns }}
- {{ printf "%s.%s.svc" $svc $ns }}
- {{ printf "%s.%s.svc.%s" $svc $ns .Values.clusterDomain }}
{{- range .Values.tls.extraDNSNames }}
- {{ . }}
{{- end }}
{{- end }}

{{/*
tls.mode generate: the CA and serving certificate, base64-encoded, as YAML (caCrt, tlsCrt, tlsKey).
Reuses the existing Secret's ca.crt/tls.crt/tls.key when the release already has one, so
`helm upgrade` keeps the same CA (and the webhook's caBundle stays valid); generates them
otherwise (first install, or rendering without cluster access). Include it ONCE per render:
every call without an existing Secret generates a new CA.
*/}}
{{- define "backoff-guard.generatedTls" -}}
{{- $secretName := include "backoff-guard.tlsSecretName" . }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace $secretName }}
{{- $data := dict }}
{{- if $existing }}
{{- $data = $existing.data | default dict }}
{{- end }}
{{- if and (hasKey $data "ca.crt") (hasKey $data "tls.crt") (hasKey $data "tls.key") }}
caCrt: {{ index $data "ca.crt" | quote }}
tlsCrt: {{ index $data "tls.crt" | quote }}
tlsKey: {{ index $data "tls.key" | quote }}
{{- else }}
{{- $svc := include "backoff-guard.fullname" . }}
{{- $ns := .Release.Namespace }}
{{- $days := int .Values.tls.generate.validityDays }}
{{- $sans := concat (list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.%s" $svc $ns .Values.clusterDomain)) (.Values.tls.extraDNSNames | default list) }}
{{- $ca := genCA (printf "%s-ca" $svc) $days }}
{{- $cert := genSignedCert (printf "%s.%s.svc" $svc $ns) (.Values.tls.extraIPAddresses | default list) $sans $days $ca }}
caCrt: {{ $ca.Cert | b64enc | quote }}
tlsCrt: {{ $cert.Cert | b64enc | quote }}
tlsKey: {{ $cert.Key | b64enc | quote }}
{{- end }}
{{- end }}
