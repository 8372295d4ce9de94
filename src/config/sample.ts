// The annotated starting config that `clutchcall config init` writes. It must
// stay valid: a unit test parses it with the loader, and an e2e test runs
// `config validate` on what `config init` wrote. Every key is described in
// docs/configuration.md.
export const SAMPLE_CONFIG = `# ClutchCall gateway config, written by \`clutchcall config init\`.
# Check it with \`clutchcall config validate FILE\`; every key, its type and
# default are in docs/configuration.md. Every section is optional: what is
# left out takes its default. Unknown keys are errors.

# SIP signalling. Loopback only: change the address (or use 0.0.0.0) to take
# calls from other hosts.
sip:
  listen:
    - { transport: udp, address: 127.0.0.1, port: 5060 }
    - { transport: tcp, address: 127.0.0.1, port: 5060 }
    # SIP over TLS (docs/sip-tls.md) needs a certificate and key:
    # - { transport: tls, address: 127.0.0.1, port: 5061 }
  # tls: { cert: tls/gateway.crt, key: tls/gateway.key }   # paths relative to this file

# This gateway's name in a fleet: in \`clutchcall status\`, on every log line
# and span, in HEP and CDRs (docs/fleet.md). Default: the host name.
# node:
#   name: gw-fra-1

# RTP media: even port for RTP, the next one for RTCP, in this range.
rtp:
  address: 127.0.0.1
  port_min: 20000
  port_max: 30000
  shards: auto                  # media worker threads; auto = one per CPU core

# Tenants: each runs its calls through one dialplan. The tenant id is the
# \`tenant\` label of metrics and the CDR tenant_id.
tenants:
  - id: acme
    dialplan: acme-main

# Trunks. Once any trunk has an \`inbound\` section, a caller is admitted only
# when its source address is in a trunk's cidrs (403 otherwise) and the called
# number matches that trunk's numbers (404 otherwise).
trunks:
  - id: carrier-a               # inbound: calls from the carrier's SBCs
    tenant: acme
    inbound:
      cidrs: [203.0.113.0/24, 127.0.0.1/32]
      numbers: ["+1415555*"]    # called-number patterns: a trailing * is a prefix
      auth:                     # digest auth: callers must answer a 401 challenge
        username: acme
        password: change-me     # a sample: change it (never shown by config show)
  - id: carrier-b               # outbound: where bridge nodes send calls
    tenant: acme
    # media_encryption: required  # SRTP (SDES) on this trunk's calls; use it with a sips: uri
    outbound:
      uri: sip:sbc.carrier-b.example:5060;transport=udp
      auth: { username: acme, password: change-me }

# Dialplans: nodes a call walks from \`start\`; each node's outcome picks the
# next node. A plan that runs out of edges hangs up with cause 16. The
# built-in plan \`default\` (answer, echo, hang up) is always there.
dialplans:
  acme-main:
    start: answer
    nodes:
      answer:   { type: answer, next: greeting }
      greeting: { type: play, tone: { frequency_hz: 440, duration_ms: 500 }, next: agent }
      agent:                    # the call's audio to an AI agent over a WebSocket
        type: agent
        url: wss://agents.example/voice
        agent_id: support-bot
        next: { completed: bye, failed: fallback }
      fallback:                 # no agent: ring a person through the outbound trunk
        type: bridge
        trunk: carrier-b
        to: "+14155550100"
        timeout_s: 30
        next: { answered: bye, busy: bye, no-answer: bye, failed: bye }
      bye: { type: hangup, cause: 16 }   # Q.850 16: normal clearing

# Prometheus metrics at http://<listen>/metrics.
metrics:
  enabled: true
  listen: 127.0.0.1:9091

# OTLP traces, one per call and per SDK RPC, to your collector (an
# OpenTelemetry collector, SigNoz, Tempo, ...). Uncomment and point endpoint at
# it; OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
# overrides it and OTEL_SDK_DISABLED=true
# switches tracing off (docs/telemetry-defaults.md has the whole rule).
# protocol: http/protobuf (port 4318), or grpc (port 4317, no path).
# tracing:
#   enabled: true
#   endpoint: http://localhost:4318
#   protocol: http/protobuf

# Call Detail Records, one per call, spooled to disk before anything else.
# Without a clickhouse section the spool is the store (\`clutchcall cdr query\`
# reads it with chDB); retention_days bounds it.
cdr:
  enabled: true
  batch_size: 1000
  flush_interval_ms: 1000
  retention_days: 90
  # To send CDRs to a ClickHouse server instead (create the table with
  # \`clutchcall cdr migrate\`):
  # clickhouse:
  #   url: http://localhost:8123
  #   database: default
  #   table: telephony_cdrs
  #   username: default
  #   password: ""

# HEPv3 SIP capture to Homer / heplify-server. Off; switch it on for a while
# with \`clutchcall hep enable --ttl 15m\`, no restart needed.
heplify:
  enabled: false
  endpoint: 127.0.0.1:9060
  capture_id: 2001
  password: ""
`
