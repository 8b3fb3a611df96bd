{{/*
The spec fields the UDP and TCP Services share: type, traffic policy, load balancer settings.
*/}}
{{- define "sipedge.sipServiceSpec" -}}
{{- include "sipedge.edgeServiceSpec" (dict "ctx" . "type" .Values.service.type) }}
{{- end }}

{{/*
Those fields for a Service of the edges of another type (the WebSocket Service):
(dict "ctx" $ "type" "ClusterIP").
*/}}
{{- define "sipedge.edgeServiceSpec" -}}
{{- $ := .ctx -}}
{{- $svc := $.Values.service -}}
type: {{ .type }}
{{- if and (ne .type "ClusterIP") $svc.externalTrafficPolicy }}
externalTrafficPolicy: {{ $svc.externalTrafficPolicy }}
{{- end }}
{{- if eq .type "LoadBalancer" }}
{{- with $svc.loadBalancerIP }}
loadBalancerIP: {{ . }}
{{- end }}
{{- with $svc.loadBalancerClass }}
loadBalancerClass: {{ . }}
{{- end }}
{{- with $svc.loadBalancerSourceRanges }}
loadBalancerSourceRanges:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
selector:
  {{- include "sipedge.componentSelectorLabels" (dict "ctx" $ "component" "edge") | nindent 2 }}
{{- end }}

{{- define "sipedge.serviceMetadata" -}}
{{- $ := .ctx -}}
name: {{ include "sipedge.fullname" $ }}-{{ .suffix }}
labels:
  {{- include "sipedge.componentLabels" (dict "ctx" $ "component" "edge") | nindent 2 }}
  sipedge/service: {{ .suffix }}
  {{- with $.Values.service.labels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with .annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
