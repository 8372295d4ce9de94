import {Flags} from '@oclif/core'
import {adminCall} from '../../src/admin/client.js'
import type {HepStatus} from '../../src/admin/protocol.js'
import {BaseCommand} from '../../src/cli/base-command.js'
import {CCError} from '../../src/errors.js'
// The flags need only the limit; the checks load in run().
import {HEP_CAPTURE_ID_MAX} from '../../src/hep/params.js'

export default class HepEnable extends BaseCommand<HepStatus> {
  static override summary = 'Switch HEPv3 SIP capture on, at runtime, optionally for a limited time.'
  static override description = `From now on every SIP message the gateway sends or receives, on every leg, goes as one HEPv3 frame over UDP to the collector (Homer / heplify-server, sngrep), with the real addresses and ports and the A-leg Call-ID as correlation id, so both legs of a bridged call group together. Unless --no-rtcp, every RTCP report the media streams send or receive goes too (HEP type 5, JSON), under the same correlation id.

Without flags it uses the config's heplify endpoint, capture_id and password; each flag overrides its value for this capture only (the config file is not changed). --ttl switches capture off by itself after the duration: capture doubles the SIP packet rate and should not be left on by accident. Enabling while capture is on re-targets it (new endpoint, id, key, TTL) without losing a frame.

Capture never blocks or fails a call: a collector that is down or refuses the frames is counted (see \`hep status\`). The endpoint and the TTL are checked before anything is sent; a bad value is a usage error (exit 2). A host name that does not resolve fails with CC_ERR_HEP_ENDPOINT_UNRESOLVABLE (exit 1).`

  static override examples = [
    {description: 'Capture to the configured collector for 15 minutes', command: '<%= config.bin %> <%= command.id %> --ttl 15m'},
    {description: 'Capture to a Homer instance with a capture id and an auth key, SIP only', command: '<%= config.bin %> <%= command.id %> --endpoint 192.0.2.10:9060 --capture-id 2002 --password s3cret --no-rtcp'},
    {description: 'Watch the calls live for an hour in sngrep on this host (started first, in another terminal, as `sngrep -L udp:127.0.0.1:9060`)', command: '<%= config.bin %> <%= command.id %> --endpoint 127.0.0.1:9060 --ttl 1h'},
  ]

  static override flags = {
    endpoint: Flags.string({summary: 'Collector as HOST:PORT (IPv6 as [ADDR]:PORT); default heplify.endpoint.', helpValue: 'HOST:PORT'}),
    'capture-id': Flags.integer({summary: `Capture agent id (HEP chunk 0x0c), 0 to ${HEP_CAPTURE_ID_MAX}; default heplify.capture_id.`, min: 0, max: HEP_CAPTURE_ID_MAX, helpValue: 'N'}),
    password: Flags.string({summary: 'Auth key sent in every frame (HEP chunk 0x0e); default heplify.password. Empty sends none. A flag shows in the process list: prefer heplify.password in the config.', helpValue: 'KEY'}),
    ttl: Flags.string({summary: 'Switch capture off by itself after this long: 90s, 15m, 1h, 1h30m (1s to 24h). Default: until `hep disable`.', helpValue: 'DURATION'}),
    rtcp: Flags.boolean({summary: 'Send RTCP reports too (HEP type 5, JSON). --no-rtcp captures SIP only.', default: true, allowNo: true}),
  }

  async run(): Promise<HepStatus> {
    const {flags} = await this.parse(HepEnable)
    const {checkHepEndpoint, checkHepTtl} = await import('../../src/hep/params.js')
    const params: {endpoint?: string; capture_id?: number; password?: string; ttl_s?: number; rtcp: boolean} = {rtcp: flags.rtcp}
    if (flags.endpoint !== undefined) {
      const endpoint = checkHepEndpoint(flags.endpoint)
      if (!endpoint.ok) throw new CCError('CC_ERR_USAGE', {detail: `--endpoint: ${endpoint.problem}`})
      params.endpoint = flags.endpoint
    }
    if (flags.ttl !== undefined) {
      const ttl = checkHepTtl(flags.ttl)
      if (!ttl.ok) throw new CCError('CC_ERR_USAGE', {detail: `--ttl: ${ttl.problem}`})
      params.ttl_s = ttl.value
    }
    if (flags['capture-id'] !== undefined) params.capture_id = flags['capture-id']
    if (flags.password !== undefined) params.password = flags.password
    const loaded = this.loadConfig(flags.config)
    const status = await adminCall(loaded.socketPath, 'hep.enable', params)
    if (!this.jsonEnabled()) {
      const {hepStatusBlock} = await import('../../src/cli/output/hep.js')
      this.logToStderr(`HEP capture is on${status.timeLeftS === null ? ' until `clutchcall hep disable`' : ` for ${flags.ttl ?? `${status.timeLeftS}s`}`}.`)
      this.log(hepStatusBlock(status))
    }
    return status
  }
}
