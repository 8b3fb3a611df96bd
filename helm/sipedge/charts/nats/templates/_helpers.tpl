{{/*
The name of the NATS Deployment and Service: <release>-nats (dots of the release name become
dashes). The sipedge chart's default NATS_URL names the same Service (sipedge.natsUrl).
*/}}
{{- define "nats.fullname" -}}
{{- printf "%s-nats" (.Release.Name | replace "." "-" | trunc 57 | trimSuffix "-") }}
{{- end }}

{{- define "nats.selectorLabels" -}}
app.kubernetes.io/name: nats
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "nats.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{ include "nats.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sipedge
{{- end }}
