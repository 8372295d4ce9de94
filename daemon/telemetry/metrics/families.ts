// The ten metric families of DESIGN §6. Names, label sets and types are a
// public contract: dashboards and alerts depend on them, so they are declared
// here once and nowhere else.
import {collectDefaultMetrics, Counter, Gauge, Histogram, Registry} from 'prom-client'

export const createMetricFamilies = (registry: Registry) => {
  const registers = [registry]
  return {
    callsTotal: new Counter({
      name: 'clutchcall_calls_total',
      help: 'Calls ended, by final status.',
      labelNames: ['tenant', 'trunk', 'direction', 'result'] as const,
      registers,
    }),
    callsActive: new Gauge({
      name: 'clutchcall_calls_active',
      help: 'Calls in progress.',
      labelNames: ['tenant', 'trunk'] as const,
      registers,
    }),
    callDurationSeconds: new Histogram({
      name: 'clutchcall_call_duration_seconds',
      help: 'Duration of ended calls, from answer (0 when never answered).',
      labelNames: ['tenant', 'trunk', 'result'] as const,
      buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200],
      registers,
    }),
    rtpPacketsTotal: new Counter({
      name: 'clutchcall_rtp_packets_total',
      help: 'RTP packets received (rx) and sent (tx).',
      labelNames: ['direction', 'codec'] as const,
      registers,
    }),
    srtpPacketsDroppedTotal: new Counter({
      name: 'clutchcall_srtp_packets_dropped_total',
      help: 'SRTP (packet="rtp") and SRTCP (packet="rtcp") packets refused by the media shards: a wrong authentication tag (a bad key, a corrupted packet, plain RTCP on an SRTP stream) or a replay. Refused RTP is lost to the call\'s quality figures.',
      labelNames: ['packet'] as const,
      registers,
    }),
    rtpPayloadsUndecodableTotal: new Counter({
      name: 'clutchcall_rtp_payloads_undecodable_total',
      help: 'G.722 and Opus payloads the media shards dropped because the codec cannot take them: empty, longer than the limit (120 ms of G.722, 60 ms of Opus), or an Opus packet that breaks RFC 6716. They count as lost in the call\'s quality figures.',
      labelNames: ['codec'] as const,
      registers,
    }),
    rtpLossRatio: new Gauge({
      name: 'clutchcall_rtp_loss_ratio',
      help: 'RTP packet loss over the last interval across the tenant\'s active streams (0..1).',
      labelNames: ['tenant'] as const,
      registers,
    }),
    jitterMs: new Histogram({
      name: 'clutchcall_jitter_ms',
      help: 'RFC 3550 interarrival jitter of media streams, in milliseconds.',
      labelNames: ['tenant'] as const,
      buckets: [1, 2, 5, 10, 20, 30, 50, 75, 100, 200],
      registers,
    }),
    estimatedMos: new Histogram({
      name: 'clutchcall_estimated_mos',
      help: 'Estimated MOS (ITU-T G.107 E-model) of media streams, 1 to 4.5.',
      labelNames: ['tenant'] as const,
      buckets: [1, 1.5, 2, 2.5, 3, 3.5, 3.8, 4, 4.2, 4.3, 4.4, 4.5],
      registers,
    }),
    codecEngineLagUs: new Histogram({
      name: 'clutchcall_codec_engine_lag_us',
      help: 'Event-loop scheduling delay of each media shard, in microseconds.',
      labelNames: ['shard'] as const,
      buckets: [50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000],
      registers,
    }),
    quicHandshakeSeconds: new Histogram({
      name: 'clutchcall_quic_handshake_seconds',
      help: 'QUIC/WebTransport handshake time of SDK clients, from the address-validated Initial to the established connection, by result (ok, failed: TLS or ALPN refusal, handshake timeout).',
      labelNames: ['result'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    adminRequestsTotal: new Counter({
      name: 'clutchcall_admin_requests_total',
      help: 'Admin socket requests, by method and result (ok or error).',
      labelNames: ['method', 'result'] as const,
      registers,
    }),
    // Refused attempts (docs/call-accounting.md): the INVITEs that never became a running call.
    callAttemptsRefusedTotal: new Counter({
      name: 'clutchcall_call_attempts_refused_total',
      help: 'Inbound INVITEs refused before their dialplan ran, by reason (unknown_source, no_route, auth_failed, no_offer, bad_sdp, no_common_codec, draining, no_media_ports, overload); tenant and trunk are none for an unknown source. Those from a known source also count in clutchcall_calls_total{result="failed"}.',
      labelNames: ['tenant', 'trunk', 'reason'] as const,
      registers,
    }),
    // SIP abuse control (docs/sip-abuse-control.md): requests turned away before any transaction, and bans.
    sipRequestsRefusedTotal: new Counter({
      name: 'clutchcall_sip_requests_refused_total',
      help: 'SIP requests dropped (or refused with a stateless 403) before any transaction state, by method (INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, PUBLISH, MESSAGE, INFO, UPDATE, PRACK, REFER, other) and reason (unknown_source, rate_limit, banned, transaction_limit: a stateless 503).',
      labelNames: ['method', 'reason'] as const,
      registers,
    }),
    sipConnectionsDroppedTotal: new Counter({
      name: 'clutchcall_sip_connections_dropped_total',
      help: 'SIP stream connections closed as they were accepted or later by a limit, by transport (tcp, tls) and reason (unknown_source, banned, source_limit, connection_limit, message_timeout, send_buffer, handshake_timeout, handshake_failed).',
      labelNames: ['transport', 'reason'] as const,
      registers,
    }),
    securityBansTotal: new Counter({
      name: 'clutchcall_security_bans_total',
      help: 'Sources banned, by reason (rate_limit, auth_failures).',
      labelNames: ['reason'] as const,
      registers,
    }),
    securityBannedSources: new Gauge({
      name: 'clutchcall_security_banned_sources',
      help: 'Sources banned now: every request from them is dropped.',
      registers,
    }),
    // The CDR writer's own health (issue: "extra metrics use the clutchcall_cdr_ prefix").
    cdrRowsWrittenTotal: new Counter({
      name: 'clutchcall_cdr_rows_written_total',
      help: 'CDR rows acknowledged by ClickHouse (or stored in the embedded spool).',
      registers,
    }),
    cdrInsertErrorsTotal: new Counter({
      name: 'clutchcall_cdr_insert_errors_total',
      help: 'Failed CDR batch inserts (each is retried; no row is dropped).',
      registers,
    }),
    cdrPendingRows: new Gauge({
      name: 'clutchcall_cdr_pending_rows',
      help: 'CDR rows in the spool not yet acknowledged by ClickHouse.',
      registers,
    }),
    cdrRecoveredCallsTotal: new Counter({
      name: 'clutchcall_cdr_recovered_calls_total',
      help: 'Calls connected when the daemon died that got their CDR from the active-call journal at start (status failed, cause 41).',
      registers,
    }),
    // HEP capture's own health (issue 5: extra metrics use the clutchcall_hep_ prefix).
    hepFramesSentTotal: new Counter({
      name: 'clutchcall_hep_frames_sent_total',
      help: 'HEPv3 frames handed to the kernel for the collector, by payload (sip or rtcp).',
      labelNames: ['type'] as const,
      registers,
    }),
    hepSendErrorsTotal: new Counter({
      name: 'clutchcall_hep_send_errors_total',
      help: 'HEPv3 frames that could not be sent or were refused by the collector (ICMP port unreachable); calls are not affected.',
      registers,
    }),
    // Trunk health (docs/sip-trunks.md): one series per trunk with outbound.keepalive or outbound.register.
    trunkUp: new Gauge({
      name: 'clutchcall_trunk_up',
      help: 'Trunks with outbound.keepalive: 1 while new calls may use the trunk (OPTIONS answered, or no probe finished yet), 0 while its keepalive marks it down.',
      labelNames: ['trunk'] as const,
      registers,
    }),
    trunkRegistered: new Gauge({
      name: 'clutchcall_trunk_registered',
      help: 'Trunks with outbound.register: 1 while the registrar holds a binding the gateway refreshed in time, else 0 (registering, failed, unregistered).',
      labelNames: ['trunk'] as const,
      registers,
    }),
    hepCaptureEnabled: new Gauge({
      name: 'clutchcall_hep_capture_enabled',
      help: '1 while HEP capture is on, else 0 (alert on capture left on).',
      registers,
    }),
  }
}

export type MetricFamilies = ReturnType<typeof createMetricFamilies>

/** prom-client gauges whose `_total` names fail `promtool check metrics`. */
const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']

/** The gateway's registry: the ten families plus Node's standard process metrics. */
export const createMetricsRegistry = (): {registry: Registry; families: MetricFamilies} => {
  const registry = new Registry()
  collectDefaultMetrics({register: registry})
  for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name)
  const families = createMetricFamilies(registry)
  // Both results exported from the start (all buckets 0), so handshake panels and alerts get a series, not an empty result.
  for (const result of ['ok', 'failed'] as const) families.quicHandshakeSeconds.zero({result})
  return {registry, families}
}
