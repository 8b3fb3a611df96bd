{{/*
The name of the Redis Deployment and Service: <release>-redis (dots of the release name become
dashes). The sipedge chart's default REDIS_URL names the same Service (sipedge.redisUrl).
*/}}
{{- define "redis.fullname" -}}
{{- printf "%s-redis" (.Release.Name | replace "." "-" | trunc 56 | trimSuffix "-") }}
{{- end }}

{{- define "redis.selectorLabels" -}}
app.kubernetes.io/name: redis
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "redis.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{ include "redis.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sipedge
{{- end }}
