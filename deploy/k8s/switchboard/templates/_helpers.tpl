{{/*
Naming: every object of a service is "<fullname>-<service>" (release "switchboard" gives
"switchboard-ingest"), so one name per service holds everywhere.
*/}}
{{- define "switchboard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "switchboard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* "<fullname>-<service>"; call with (dict "root" $ "name" $name). */}}
{{- define "switchboard.componentName" -}}
{{- printf "%s-%s" (include "switchboard.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "switchboard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object; call with (dict "root" $ "name" $componentOrEmpty). */}}
{{- define "switchboard.labels" -}}
helm.sh/chart: {{ include "switchboard.chart" .root }}
{{ include "switchboard.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: switchboard
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "switchboard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "switchboard.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .name }}
app.kubernetes.io/component: {{ .name }}
{{- end }}
{{- end -}}

{{/* A service's effective settings: workloadDefaults deep-merged with services.<name>. */}}
{{- define "switchboard.workload" -}}
{{- $svc := index .root.Values.services .name | default dict -}}
{{- toJson (mergeOverwrite (deepCopy .root.Values.workloadDefaults) (deepCopy $svc)) -}}
{{- end -}}

{{- define "switchboard.serviceAccountName" -}}
{{- if .w.serviceAccount.create -}}
{{- default (include "switchboard.componentName" .) .w.serviceAccount.name -}}
{{- else -}}
{{- default "default" .w.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "switchboard.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* Concrete topic name: prefix + registry name. */}}
{{- define "switchboard.topicName" -}}
{{- printf "%s%s" .root.Values.topics.prefix .name -}}
{{- end -}}

{{/*
The most partitions among the topics a service consumes (from the topic registry in files/topics):
one consumer-group member per partition does work, any further replica idles.
*/}}
{{- define "switchboard.partitionBound" -}}
{{- $bound := 0 -}}
{{- range $path, $_ := .root.Files.Glob "files/topics/*.yaml" -}}
{{- $topic := $.root.Files.Get $path | fromYaml -}}
{{- if has $.name ($topic.consumers | default list) -}}
{{- $bound = max $bound (int $topic.partitions) -}}
{{- end -}}
{{- end -}}
{{- $bound -}}
{{- end -}}

{{- define "switchboard.kafkaSecurityProtocol" -}}
{{- $k := .Values.kafka -}}
{{- if and $k.tls.enabled $k.sasl.enabled -}}SASL_SSL
{{- else if $k.tls.enabled -}}SSL
{{- else if $k.sasl.enabled -}}SASL_PLAINTEXT
{{- else -}}PLAINTEXT
{{- end -}}
{{- end -}}

{{- define "switchboard.kafkaCaDir" -}}/etc/switchboard/kafka-ca{{- end -}}

{{- define "switchboard.createTopics" -}}
{{- if eq .Values.topics.management "services" -}}true{{- else -}}false{{- end -}}
{{- end -}}

{{/* Kafka connection environment, shared by the workloads and the topic Job. */}}
{{- define "switchboard.kafkaEnv" -}}
{{- $k := .Values.kafka -}}
- name: SWITCHBOARD_KAFKA__BOOTSTRAP_SERVERS
  value: {{ required "kafka.bootstrapServers is required: the host:port list of your Kafka cluster (for example my-kafka-bootstrap.kafka:9093)" $k.bootstrapServers | quote }}
- name: SWITCHBOARD_KAFKA__SECURITY_PROTOCOL
  value: {{ include "switchboard.kafkaSecurityProtocol" . | quote }}
{{- if $k.sasl.enabled }}
- name: SWITCHBOARD_KAFKA__SASL_MECHANISM
  value: {{ $k.sasl.mechanism | quote }}
{{- $secret := required "kafka.sasl.existingSecret is required when kafka.sasl.enabled: the Secret holding the SASL password (a Strimzi KafkaUser Secret works)" $k.sasl.existingSecret }}
{{- if $k.sasl.usernameKey }}
- name: SWITCHBOARD_KAFKA__SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ $secret | quote }}
      key: {{ $k.sasl.usernameKey | quote }}
{{- else }}
- name: SWITCHBOARD_KAFKA__SASL_USERNAME
  value: {{ required "kafka.sasl.username (or kafka.sasl.usernameKey) is required when kafka.sasl.enabled" $k.sasl.username | quote }}
{{- end }}
- name: SWITCHBOARD_KAFKA__SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret | quote }}
      key: {{ $k.sasl.passwordKey | quote }}
{{- end }}
{{- if and $k.tls.enabled $k.tls.caSecret.name }}
- name: SWITCHBOARD_KAFKA__SSL_CAFILE
  value: {{ printf "%s/%s" (include "switchboard.kafkaCaDir" .) $k.tls.caSecret.key | quote }}
{{- end }}
- name: SWITCHBOARD_KAFKA__IDEMPOTENT_PRODUCER
  value: {{ $k.idempotentProducer | toString | quote }}
- name: SWITCHBOARD_KAFKA__TOPIC_PREFIX
  value: {{ .Values.topics.prefix | quote }}
- name: SWITCHBOARD_KAFKA__CREATE_TOPICS
  value: {{ include "switchboard.createTopics" . | quote }}
- name: SWITCHBOARD_KAFKA__REPLICATION_FACTOR
  value: {{ .Values.topics.replicationFactor | toString | quote }}
{{- end -}}

{{/* The Kafka CA volume (only when TLS uses a private CA). */}}
{{- define "switchboard.kafkaCaVolume" -}}
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.caSecret.name }}
- name: kafka-ca
  secret:
    secretName: {{ .Values.kafka.tls.caSecret.name | quote }}
    items:
      - key: {{ .Values.kafka.tls.caSecret.key | quote }}
        path: {{ .Values.kafka.tls.caSecret.key | quote }}
{{- end }}
{{- end -}}

{{- define "switchboard.kafkaCaMount" -}}
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.caSecret.name }}
- name: kafka-ca
  mountPath: {{ include "switchboard.kafkaCaDir" . }}
  readOnly: true
{{- end }}
{{- end -}}

{{- define "switchboard.configMapName" -}}
{{- default (printf "%s-config" (include "switchboard.fullname" .)) .Values.config.existingConfigMap -}}
{{- end -}}

{{/* Enabled services in a stable order, as a JSON list of names. */}}
{{- define "switchboard.enabledServices" -}}
{{- $names := list -}}
{{- range $name := keys .Values.services | sortAlpha -}}
{{- $w := include "switchboard.workload" (dict "root" $ "name" $name) | fromJson -}}
{{- if $w.enabled -}}
{{- $names = append $names $name -}}
{{- end -}}
{{- end -}}
{{- toJson $names -}}
{{- end -}}

{{/*
Provider secrets: either the whole file from secrets.existingSecret, or per-brand Secrets
(secrets.brands.<brand>) merged with it by an init container into one file in a memory-backed
emptyDir, because the services read exactly one file (SWITCHBOARD_SECRETS_FILE).
*/}}
{{- define "switchboard.hasSecrets" -}}
{{- if or .Values.secrets.existingSecret .Values.secrets.brands -}}true{{- end -}}
{{- end -}}

{{- define "switchboard.secretsMergeScript" -}}
import os, pathlib, yaml
sources = pathlib.Path(os.environ["SECRETS_SOURCES"])
merged = {"brands": {}, "global": {}}
whole = sources / "all.yaml"
if whole.exists():
    data = yaml.safe_load(whole.read_text()) or {}
    merged["brands"].update(data.get("brands") or {})
    merged["global"].update(data.get("global") or {})
for path in sorted((sources / "brands").glob("*.yaml")):
    block = yaml.safe_load(path.read_text()) or {}
    if not isinstance(block, dict):
        raise SystemExit(f"{path.name}: expected a mapping of secret names to values")
    merged["brands"][path.stem] = {**(merged["brands"].get(path.stem) or {}), **block}
target = pathlib.Path(os.environ["SWITCHBOARD_SECRETS_FILE"])
target.write_text(yaml.safe_dump(merged, sort_keys=True))
target.chmod(0o400)
print(f"merged secrets of {len(merged['brands'])} brands")
{{- end -}}

{{/* Pod-level pieces for the secrets file: volumes. */}}
{{- define "switchboard.secretsVolumes" -}}
{{- if .Values.secrets.brands }}
- name: secret-sources
  projected:
    sources:
      {{- with .Values.secrets.existingSecret }}
      - secret:
          name: {{ . | quote }}
          items:
            - key: {{ $.Values.secrets.key | quote }}
              path: all.yaml
      {{- end }}
      {{- range $brand, $ref := .Values.secrets.brands }}
      - secret:
          name: {{ required (printf "secrets.brands.%s.existingSecret is required" $brand) $ref.existingSecret | quote }}
          items:
            - key: {{ default "secrets.yaml" $ref.key | quote }}
              path: {{ printf "brands/%s.yaml" $brand | quote }}
      {{- end }}
- name: secrets
  emptyDir:
    medium: Memory
    sizeLimit: 1Mi
{{- else if .Values.secrets.existingSecret }}
- name: secrets
  secret:
    secretName: {{ .Values.secrets.existingSecret | quote }}
    items:
      - key: {{ .Values.secrets.key | quote }}
        path: secrets.yaml
{{- end }}
{{- end -}}

{{/* The init container that merges per-brand Secrets into the one secrets file. */}}
{{- define "switchboard.secretsInitContainer" -}}
{{- if .Values.secrets.brands }}
- name: merge-secrets
  image: {{ include "switchboard.image" . | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command:
    {{- list "python" "-c" (include "switchboard.secretsMergeScript" . | printf "%s\n") | toYaml | nindent 4 }}
  env:
    - name: SECRETS_SOURCES
      value: /etc/switchboard/secret-sources
    - name: SWITCHBOARD_SECRETS_FILE
      value: /etc/switchboard/secrets/secrets.yaml
  resources:
    requests:
      cpu: 10m
      memory: 64Mi
    limits:
      memory: 128Mi
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
  volumeMounts:
    - name: secret-sources
      mountPath: /etc/switchboard/secret-sources
      readOnly: true
    - name: secrets
      mountPath: /etc/switchboard/secrets
{{- end }}
{{- end -}}

{{/* ------------------------------------------------------------------ the console and its peers */}}

{{- define "switchboard.consoleEnabled" -}}
{{- if has "console" (include "switchboard.enabledServices" . | fromJsonArray) -}}true{{- end -}}
{{- end -}}

{{/* In-cluster URL of a service: http://<fullname>-<name>:<service port>; call with (dict "root" $ "name" $name). */}}
{{- define "switchboard.serviceUrl" -}}
{{- $w := include "switchboard.workload" . | fromJson -}}
{{- printf "http://%s:%d" (include "switchboard.componentName" .) (int $w.service.port) -}}
{{- end -}}

{{- define "switchboard.consoleSecretName" -}}
{{- default (include "switchboard.componentName" (dict "root" . "name" "console")) .Values.console.existingSecret -}}
{{- end -}}

{{/* Where links to a conversation point: console.publicUrl, else the console Ingress, else its Service. */}}
{{- define "switchboard.consolePublicUrl" -}}
{{- $c := .Values.console -}}
{{- if $c.publicUrl -}}
{{- $c.publicUrl | trimSuffix "/" -}}
{{- else if and $c.ingress.enabled $c.ingress.hosts -}}
{{- printf "%s://%s" (ternary "https" "http" (not (empty $c.ingress.tls))) (index $c.ingress.hosts 0).host -}}
{{- else -}}
{{- include "switchboard.serviceUrl" (dict "root" . "name" "console") -}}
{{- end -}}
{{- end -}}

{{/* A secretKeyRef env entry of the console Secret; call with (list $root "ENV_NAME" "key"). */}}
{{- define "switchboard.consoleSecretEnv" -}}
- name: {{ index . 1 }}
  valueFrom:
    secretKeyRef:
      name: {{ include "switchboard.consoleSecretName" (index . 0) | quote }}
      key: {{ index . 2 | quote }}
{{- end -}}

{{/*
Environment that wires the services to each other, per service; call with (dict "root" $ "name" $name).
The console reads from router and sla and acts through ingest; router and sla require its bearer
token on their read APIs; the notifier's links point at the console.
*/}}
{{- define "switchboard.wiringEnv" -}}
{{- $root := .root -}}
{{- $c := $root.Values.console -}}
{{- $console := include "switchboard.consoleEnabled" $root -}}
{{- if eq .name "console" -}}
{{- $enabled := include "switchboard.enabledServices" $root | fromJsonArray -}}
{{- range $peer := list "ingest" "router" "sla" -}}
{{- if not (has $peer $enabled) -}}
{{- fail (printf "services.console needs services.%s: it reads from router and sla and acts through ingest" $peer) -}}
{{- end -}}
{{- end }}
- name: SWITCHBOARD_ROUTER_URL
  value: {{ include "switchboard.serviceUrl" (dict "root" $root "name" "router") | quote }}
- name: SWITCHBOARD_SLA_URL
  value: {{ include "switchboard.serviceUrl" (dict "root" $root "name" "sla") | quote }}
- name: SWITCHBOARD_INGEST_URL
  value: {{ include "switchboard.serviceUrl" (dict "root" $root "name" "ingest") | quote }}
- name: SWITCHBOARD_AUTH__MODE
  value: {{ $c.auth.mode | quote }}
- name: SWITCHBOARD_AUTH__IDENTITY_HEADER
  value: {{ $c.auth.identityHeader | quote }}
- name: SWITCHBOARD_COOKIE_SECURE
  value: {{ $c.cookieSecure | toString | quote }}
{{ include "switchboard.consoleSecretEnv" (list $root "SWITCHBOARD_SESSION_SECRET" $c.sessionSecretKey) }}
{{ include "switchboard.consoleSecretEnv" (list $root "SWITCHBOARD_READ_API_TOKEN" $c.readApiTokenKey) }}
{{- else if and $console (has .name (list "router" "sla")) }}
{{ include "switchboard.consoleSecretEnv" (list $root "SWITCHBOARD_READ_API_TOKEN" $c.readApiTokenKey) }}
{{- else if and (eq .name "notifier") (or $console $c.publicUrl) }}
- name: SWITCHBOARD_CONSOLE_BASE_URL
  value: {{ include "switchboard.consolePublicUrl" $root | quote }}
{{- end -}}
{{- end -}}
