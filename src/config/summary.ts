// A short account of a loaded config, for `config validate`.
import type {LoadedConfig} from './load.js'

export interface ConfigSummary {
  readonly file: string | null
  readonly valid: true
  readonly tenants: readonly string[]
  readonly trunks: readonly string[]
  readonly dialplans: readonly string[]
  readonly sipListeners: readonly string[]
  readonly telemetry: {readonly metrics: boolean; readonly tracing: boolean; readonly cdr: boolean; readonly hep: boolean}
}

export const summarizeConfig = ({config, file}: LoadedConfig): ConfigSummary => ({
  file: file ?? null,
  valid: true,
  tenants: config.tenants.map((tenant) => tenant.id),
  trunks: config.trunks.map((trunk) => trunk.id),
  dialplans: Object.keys(config.dialplans),
  sipListeners: config.sip.listen.map((listen) => `${listen.transport}://${listen.address}:${listen.port}`),
  telemetry: {metrics: config.metrics.enabled, tracing: config.tracing.enabled, cdr: config.cdr.enabled, hep: config.heplify.enabled},
})
