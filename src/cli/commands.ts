// Every command, for oclif's explicit command discovery: the CLI is bundled
// into one file (scripts/bundle-cli.js) so a command starts without resolving
// and compiling hundreds of modules. Adding a command means adding it here.
import CallsHangup from '../../commands/calls/hangup.js'
import CallsList from '../../commands/calls/list.js'
import CallsTail from '../../commands/calls/tail.js'
import CdrMigrate from '../../commands/cdr/migrate.js'
import CdrQuery from '../../commands/cdr/query.js'
import CdrStats from '../../commands/cdr/stats.js'
import CdrFlush from '../../commands/cdr/flush.js'
import CdrStatus from '../../commands/cdr/status.js'
import ConfigShow from '../../commands/config/show.js'
import HepDisable from '../../commands/hep/disable.js'
import HepEnable from '../../commands/hep/enable.js'
import HepStatus from '../../commands/hep/status.js'
import ConfigValidate from '../../commands/config/validate.js'
import Smoke from '../../commands/smoke.js'
import Start from '../../commands/start.js'
import Status from '../../commands/status.js'
import Stop from '../../commands/stop.js'
import SynthCall from '../../commands/synth/call.js'

export {execute} from '@oclif/core'

export const COMMANDS = {
  start: Start,
  stop: Stop,
  status: Status,
  'config:validate': ConfigValidate,
  'config:show': ConfigShow,
  'calls:list': CallsList,
  'calls:hangup': CallsHangup,
  'calls:tail': CallsTail,
  'cdr:migrate': CdrMigrate,
  'cdr:query': CdrQuery,
  'cdr:stats': CdrStats,
  'cdr:status': CdrStatus,
  'cdr:flush': CdrFlush,
  'hep:enable': HepEnable,
  'hep:disable': HepDisable,
  'hep:status': HepStatus,
  'synth:call': SynthCall,
  smoke: Smoke,
}
