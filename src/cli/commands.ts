// Every command, for oclif's explicit command discovery: the CLI is bundled
// into one file (scripts/bundle-cli.js) so a command starts without resolving
// and compiling hundreds of modules. Adding a command means adding it here.
//
// Every command module below is evaluated on every start, so its top level
// imports only what its static surface needs (the flags and args with their
// help, for oclif's manifest and parser): @oclif/core, BaseCommand, the flag
// modules of src/cli, types (and the admin client, small and used by most,
// status included). What only run() uses (parsers of flag values, daemon
// control, stores, output formatting) is imported with `await import()` inside
// run(); esbuild puts it in chunks read only by the commands that need them
// (scripts/bundle-cli.js). esbuild splits by module, not by statement: a module
// a flag definition takes a constant from is in every start whole.
import CallsHangup from '../../commands/calls/hangup.js'
import CallsList from '../../commands/calls/list.js'
import CallsTail from '../../commands/calls/tail.js'
import CdrMigrate from '../../commands/cdr/migrate.js'
import CdrQuery from '../../commands/cdr/query.js'
import CdrStats from '../../commands/cdr/stats.js'
import CdrFlush from '../../commands/cdr/flush.js'
import CdrStatus from '../../commands/cdr/status.js'
import ConfigInit from '../../commands/config/init.js'
import ConfigReload from '../../commands/config/reload.js'
import ConfigShow from '../../commands/config/show.js'
import HepDisable from '../../commands/hep/disable.js'
import HepEnable from '../../commands/hep/enable.js'
import HepStatus from '../../commands/hep/status.js'
import SecurityBans from '../../commands/security/bans.js'
import SecurityUnban from '../../commands/security/unban.js'
import TrunksStatus from '../../commands/trunks/status.js'
import ConfigValidate from '../../commands/config/validate.js'
import Smoke from '../../commands/smoke.js'
import Start from '../../commands/start.js'
import Status from '../../commands/status.js'
import Stop from '../../commands/stop.js'
import SynthCall from '../../commands/synth/call.js'
import Autocomplete from '../../commands/autocomplete.js'
import HelpCommand from '../../commands/help.js'
import RecordingsList from '../../commands/recordings/list.js'
import RecordingsPath from '../../commands/recordings/path.js'
import Version from '../../commands/version.js'

export {execute} from '@oclif/core'

export const COMMANDS = {
  start: Start,
  stop: Stop,
  status: Status,
  'config:init': ConfigInit,
  'config:validate': ConfigValidate,
  'config:show': ConfigShow,
  'config:reload': ConfigReload,
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
  'security:bans': SecurityBans,
  'security:unban': SecurityUnban,
  'trunks:status': TrunksStatus,
  'synth:call': SynthCall,
  smoke: Smoke,
  'recordings:list': RecordingsList,
  'recordings:path': RecordingsPath,
  version: Version,
  help: HelpCommand,
  autocomplete: Autocomplete,
}
