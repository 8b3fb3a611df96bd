{{/*
Names, labels and the pieces the edge and worker workloads share.
*/}}

{{- define "sipedge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's objects. Dots become dashes: the edge and worker ids are the pod
names, and an edge id may only hold letters, digits, - and _.
*/}}
{{- define "sipedge.fullname" -}}
{{- $name := "" }}
{{- if .Values.fullnameOverride }}
{{- $name = .Values.fullnameOverride }}
{{- else if contains (default .Chart.Name .Values.nameOverride) .Release.Name }}
{{- $name = .Release.Name }}
{{- else }}
{{- $name = printf "%s-%s" .Release.Name (default .Chart.Name .Values.nameOverride) }}
{{- end }}
{{- $name | replace "." "-" | trunc 50 | trimSuffix "-" }}
{{- end }}

{{- define "sipedge.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sipedge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sipedge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sipedge.labels" -}}
helm.sh/chart: {{ include "sipedge.chart" . }}
{{ include "sipedge.selectorLabels" . }}
app.kubernetes.io/version: {{ (default .Chart.AppVersion .Values.image.tag) | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sipedge
{{- end }}

{{/* Selector labels of one component: (dict "ctx" $ "component" "edge") */}}
{{- define "sipedge.componentSelectorLabels" -}}
{{ include "sipedge.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "sipedge.componentLabels" -}}
{{ include "sipedge.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "sipedge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sipedge.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "sipedge.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Where the configuration file is mounted. */}}
{{- define "sipedge.configDir" -}}/etc/sipedge{{- end }}
{{- define "sipedge.configFile" -}}/etc/sipedge/sipedge.yaml{{- end }}
{{- define "sipedge.tlsDir" -}}/etc/sipedge/tls{{- end }}

{{- define "sipedge.secretName" -}}
{{- include "sipedge.fullname" . }}
{{- end }}

{{- define "sipedge.fleetSecretName" -}}
{{- default (include "sipedge.secretName" .) .Values.fleet.existingSecret }}
{{- end }}

{{- define "sipedge.authSecretName" -}}
{{- default (include "sipedge.secretName" .) .Values.auth.existingSecret }}
{{- end }}

{{- define "sipedge.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "sipedge.fullname" .)) .Values.tls.existingSecret }}
{{- end }}

{{/*
REDIS_URL: redis.url, or with redis.enabled the Service of the redis subchart (named as its
"redis.fullname": <release>-redis).
*/}}
{{- define "sipedge.redisUrl" -}}
{{- if .Values.redis.url }}
{{- .Values.redis.url }}
{{- else if .Values.redis.enabled }}
{{- printf "redis://%s-redis:%d" (.Release.Name | replace "." "-" | trunc 56 | trimSuffix "-") (int (.Values.redis.port | default 6379)) }}
{{- else }}
{{- fail "redis.url is required (or redis.enabled, for a Redis in the release)" }}
{{- end }}
{{- end }}

{{/*
NATS_URL: nats.url, or with nats.enabled the Service of the nats subchart (named as its
"nats.fullname": <release>-nats).
*/}}
{{- define "sipedge.natsUrl" -}}
{{- if .Values.nats.url }}
{{- .Values.nats.url }}
{{- else if .Values.nats.enabled }}
{{- printf "nats://%s-nats:%d" (.Release.Name | replace "." "-" | trunc 57 | trimSuffix "-") (int (.Values.nats.port | default 4222)) }}
{{- else }}
{{- fail "nats.url is required (or nats.enabled, for a NATS server in the release)" }}
{{- end }}
{{- end }}

{{/* "true" when the edges serve WSS (websocket.wss.enabled, under websocket.enabled); else empty. */}}
{{- define "sipedge.wss" -}}
{{- if and .Values.websocket.enabled .Values.websocket.wss.enabled }}true{{ end }}
{{- end }}

{{/*
"true" when the edges need the TLS certificate (mounted from the TLS Secret, sip.tls.keyFile and
certFile): for SIP over TLS (tls.enabled) or for WSS; else empty.
*/}}
{{- define "sipedge.tlsCertificate" -}}
{{- if or .Values.tls.enabled (include "sipedge.wss" .) }}true{{ end }}
{{- end }}

{{/* The type of the WebSocket Service: service.websocket.type, or ClusterIP behind the Ingress, or service.type. */}}
{{- define "sipedge.wsServiceType" -}}
{{- .Values.service.websocket.type | default (ternary "ClusterIP" .Values.service.type .Values.websocket.ingress.enabled) }}
{{- end }}

{{/* The port browsers reach the Ingress at: 443 with TLS at the Ingress, else 80. */}}
{{- define "sipedge.ingressPort" -}}
{{- ternary 443 80 (gt (len (.Values.websocket.ingress.tls | default list)) 0) }}
{{- end }}

{{/*
sip.advertisedWsPort / sip.advertisedWssPort, (dict "ctx" $ "transport" "ws"|"wss"): the value if
set, else the Ingress's port when it sends to that transport, else the WebSocket Service's port.
*/}}
{{- define "sipedge.wsAdvertisedPort" -}}
{{- $ := .ctx }}
{{- $ws := $.Values.websocket }}
{{- $set := ternary $ws.advertisedPort $ws.wss.advertisedPort (eq .transport "ws") }}
{{- if not (kindIs "invalid" $set) }}
{{- int $set }}
{{- else if and $ws.ingress.enabled (eq $ws.ingress.servicePort .transport) }}
{{- include "sipedge.ingressPort" $ }}
{{- else }}
{{- int (ternary $.Values.service.websocket.port $.Values.service.websocket.wssPort (eq .transport "ws")) }}
{{- end }}
{{- end }}

{{/* Whether client certificates are verified (sip.tls.caFile). */}}
{{- define "sipedge.tlsCaKey" -}}
{{- if .Values.tls.existingSecret }}{{ .Values.tls.caKey }}{{ else if .Values.tls.ca }}ca.crt{{ end }}
{{- end }}

{{/*
The sipedge configuration file: .Values.config with the settings the chart owns (listeners, TLS
files, the ops port) written over it.
*/}}
{{- define "sipedge.config" -}}
{{- $listen := .Values.edge.listen }}
{{- $udp := list }}
{{- $tcp := list }}
{{- $tlsListen := list }}
{{- range $listen.addresses }}
{{- if $listen.udp }}{{ $udp = append $udp (printf "%s:%d" . (int $listen.port)) }}{{ end }}
{{- if $listen.tcp }}{{ $tcp = append $tcp (printf "%s:%d" . (int $listen.port)) }}{{ end }}
{{- $tlsListen = append $tlsListen (printf "%s:%d" . (int $.Values.tls.port)) }}
{{- end }}
{{- $sip := dict "udp" $udp "tcp" $tcp }}
{{- $selfPorts := list }}
{{- range ((.Values.config.sip | default dict).selfPorts | default list) }}
{{- $selfPorts = append $selfPorts (int .) }}
{{- end }}
{{- /* The ports clients reach the fleet at (the Services' TLS and WebSocket ports, the pods' WebSocket ports) mean this proxy. */}}
{{- $ownPorts := list }}
{{- if include "sipedge.tlsCertificate" . }}
{{- /* WSS serves the same certificate, with or without a TLS listener. */}}
{{- $tls := dict "keyFile" (printf "%s/tls.key" (include "sipedge.tlsDir" .)) "certFile" (printf "%s/tls.crt" (include "sipedge.tlsDir" .)) }}
{{- if .Values.tls.enabled }}
{{- $_ := set $tls "listen" $tlsListen }}
{{- end }}
{{- $caKey := include "sipedge.tlsCaKey" . }}
{{- if $caKey }}
{{- $_ := set $tls "caFile" (printf "%s/%s" (include "sipedge.tlsDir" .) $caKey) }}
{{- end }}
{{- range $key := list "minVersion" "ciphers" "clientCert" }}
{{- with index $.Values.tls $key }}{{ $_ := set $tls $key . }}{{ end }}
{{- end }}
{{- if not (kindIs "invalid" .Values.tls.reloadIntervalMs) }}
{{- $_ := set $tls "reloadIntervalMs" (int .Values.tls.reloadIntervalMs) }}
{{- end }}
{{- $_ := set $sip "tls" $tls }}
{{- end }}
{{- if .Values.tls.enabled }}
{{- $ownPorts = append $ownPorts (int .Values.service.tlsPort) }}
{{- /* Clients reach TLS at the Service's port: Via and Record-Routes facing TLS name it. */}}
{{- $_ := set $sip "advertisedTlsPort" (int .Values.service.tlsPort) }}
{{- end }}
{{- $ws := .Values.websocket }}
{{- if $ws.enabled }}
{{- $wsListen := list }}
{{- $wssListen := list }}
{{- range $listen.addresses }}
{{- $wsListen = append $wsListen (printf "%s:%d" . (int $ws.port)) }}
{{- $wssListen = append $wssListen (printf "%s:%d" . (int $ws.wss.port)) }}
{{- end }}
{{- $wsConfig := dict "listen" $wsListen }}
{{- with $ws.origins }}{{ $_ := set $wsConfig "origins" . }}{{ end }}
{{- with $ws.trustedProxies }}{{ $_ := set $wsConfig "trustedProxies" . }}{{ end }}
{{- if not (kindIs "invalid" $ws.pingIntervalMs) }}
{{- $_ := set $wsConfig "pingIntervalMs" (int $ws.pingIntervalMs) }}
{{- end }}
{{- $_ := set $sip "ws" $wsConfig }}
{{- $_ := set $sip "advertisedWsPort" (include "sipedge.wsAdvertisedPort" (dict "ctx" . "transport" "ws") | int) }}
{{- $ownPorts = concat $ownPorts (list (int .Values.service.websocket.port) (int $ws.port)) }}
{{- if include "sipedge.wss" . }}
{{- $_ := set $sip "wss" (dict "listen" $wssListen) }}
{{- $_ := set $sip "advertisedWssPort" (include "sipedge.wsAdvertisedPort" (dict "ctx" . "transport" "wss") | int) }}
{{- $ownPorts = concat $ownPorts (list (int .Values.service.websocket.wssPort) (int $ws.wss.port)) }}
{{- end }}
{{- end }}
{{- range $ownPorts }}
{{- if not (has . $selfPorts) }}
{{- $selfPorts = append $selfPorts . }}
{{- end }}
{{- end }}
{{- if $selfPorts }}
{{- $_ := set $sip "selfPorts" $selfPorts }}
{{- end }}
{{- $owned := dict "sip" $sip "edge" (dict "http" (printf "0.0.0.0:%d" (int $listen.httpPort))) "worker" (dict "http" (printf "0.0.0.0:%d" (int .Values.worker.httpPort))) }}
{{- $config := mustMergeOverwrite (deepCopy .Values.config) $owned }}
{{- toYaml $config }}
{{- end }}

{{/* The drain deadline in whole seconds, rounded up. */}}
{{- define "sipedge.drainSeconds" -}}
{{- $ms := int (((.Values.config).edge).drainDeadlineMs | default 32000) }}
{{- div (add $ms 999) 1000 }}
{{- end }}

{{- define "sipedge.edgeGracePeriod" -}}
{{- $minimum := add (include "sipedge.drainSeconds" . | int) (int .Values.edge.preStopSleepSeconds) }}
{{- if kindIs "invalid" .Values.edge.terminationGracePeriodSeconds }}
{{- add $minimum 10 }}
{{- else if le (int .Values.edge.terminationGracePeriodSeconds) $minimum }}
{{- fail (printf "edge.terminationGracePeriodSeconds (%d) must exceed edge.preStopSleepSeconds plus config.edge.drainDeadlineMs in seconds (%d), or the drain is cut short" (int .Values.edge.terminationGracePeriodSeconds) $minimum) }}
{{- else }}
{{- int .Values.edge.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{/* Checks across values that the schema cannot express. */}}
{{- define "sipedge.validate" -}}
{{- if not (or .Values.fleet.secret .Values.fleet.existingSecret) }}
{{- fail "fleet.secret (or fleet.existingSecret) is required: at least 32 characters (e.g. openssl rand -hex 32); the workers sign every Record-Route with it" }}
{{- end }}
{{- if and (((.Values.config).auth).realm) (not (or .Values.auth.secret .Values.auth.existingSecret)) }}
{{- fail "auth.secret (or auth.existingSecret) is required when config.auth.realm is set: the workers sign digest nonces with it" }}
{{- end }}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) (not (and .Values.tls.cert .Values.tls.key)) }}
{{- fail "tls.enabled needs tls.existingSecret, or tls.cert and tls.key" }}
{{- end }}
{{- if and (include "sipedge.tlsCertificate" .) (has .Values.tls.clientCert (list "request" "require")) (not (include "sipedge.tlsCaKey" .)) }}
{{- fail "tls.clientCert request/require needs the CA that client certificates are verified against: tls.ca, or tls.caKey of tls.existingSecret" }}
{{- end }}
{{- if not (or .Values.edge.listen.udp .Values.edge.listen.tcp .Values.tls.enabled) }}
{{- fail "edge.listen: enable at least one of udp, tcp and tls.enabled" }}
{{- end }}
{{- include "sipedge.validateWebSocket" . }}
{{- end }}

{{/* The WebSocket values' checks. */}}
{{- define "sipedge.validateWebSocket" -}}
{{- $ws := .Values.websocket }}
{{- if and $ws.wss.enabled (not $ws.enabled) }}
{{- fail "websocket.wss.enabled needs websocket.enabled" }}
{{- end }}
{{- if and $ws.ingress.enabled (not $ws.enabled) }}
{{- fail "websocket.ingress.enabled needs websocket.enabled" }}
{{- end }}
{{- if and (include "sipedge.wss" .) (not .Values.tls.existingSecret) (not (and .Values.tls.cert .Values.tls.key)) }}
{{- fail "websocket.wss.enabled needs the TLS certificate it serves: tls.existingSecret, or tls.cert and tls.key (tls.enabled, SIP over TLS, is not needed)" }}
{{- end }}
{{- if and $ws.enabled $ws.ingress.enabled (eq $ws.ingress.servicePort "wss") (not $ws.wss.enabled) }}
{{- fail "websocket.ingress.servicePort wss needs websocket.wss.enabled" }}
{{- end }}
{{- if $ws.enabled }}
{{- /* The edge pods' TCP ports: a WebSocket listener on a port already bound would fail at start. */}}
{{- $taken := dict (toString (int .Values.edge.listen.httpPort)) "edge.listen.httpPort" }}
{{- if .Values.edge.listen.tcp }}{{ $_ := set $taken (toString (int .Values.edge.listen.port)) "edge.listen.port" }}{{ end }}
{{- if .Values.tls.enabled }}{{ $_ := set $taken (toString (int .Values.tls.port)) "tls.port" }}{{ end }}
{{- $wanted := list (list "websocket.port" (int $ws.port)) }}
{{- if $ws.wss.enabled }}{{ $wanted = append $wanted (list "websocket.wss.port" (int $ws.wss.port)) }}{{ end }}
{{- range $wanted }}
{{- $key := toString (index . 1) }}
{{- if hasKey $taken $key }}
{{- fail (printf "%s (%s) is also %s: the edge pods' TCP ports must differ" (index . 0) $key (index $taken $key)) }}
{{- end }}
{{- $_ := set $taken $key (index . 0) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Pod-level settings both workloads share. */}}
{{- define "sipedge.podCommon" -}}
serviceAccountName: {{ include "sipedge.serviceAccountName" . }}
automountServiceAccountToken: {{ .Values.automountServiceAccountToken }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.podSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
Environment both roles share: Redis (a Redis Cluster's seed nodes, Sentinels, or REDIS_URL from the
Secret), NATS from the Secret, OpenTelemetry.
*/}}
{{- define "sipedge.commonEnv" -}}
{{- if .Values.redis.cluster }}
- name: REDIS_CLUSTER
  value: {{ join "," .Values.redis.cluster | quote }}
{{- else if .Values.redis.sentinels }}
- name: REDIS_SENTINELS
  value: {{ join "," .Values.redis.sentinels | quote }}
- name: REDIS_SENTINEL_MASTER
  value: {{ .Values.redis.sentinelMaster | default "mymaster" | quote }}
{{- else }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "sipedge.secretName" . }}
      key: REDIS_URL
{{- end }}
- name: NATS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "sipedge.secretName" . }}
      key: NATS_URL
{{- with .Values.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- with .Values.otel.serviceName }}
- name: OTEL_SERVICE_NAME
  value: {{ . | quote }}
{{- end }}
{{- range $name, $value := .Values.otel.env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/* The container's security context, image and command. */}}
{{- define "sipedge.containerCommon" -}}
image: {{ include "sipedge.image" . | quote }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
{{- with .Values.command }}
command:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.securityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Pod annotations that roll the pods when their configuration changes. */}}
{{- define "sipedge.checksums" -}}
checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
