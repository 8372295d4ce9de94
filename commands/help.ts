import {Args, Help} from '@oclif/core'
import {BaseCommand} from '../src/cli/base-command.js'

export interface HelpFlagInfo {
  readonly name: string
  readonly char?: string
  readonly summary: string
}

export type HelpResult =
  | {readonly command: string; readonly summary: string; readonly description: string; readonly flags: readonly HelpFlagInfo[]}
  | {readonly topic: string; readonly commands: ReadonlyArray<{readonly command: string; readonly summary: string}>}

export default class HelpCommand extends BaseCommand<HelpResult> {
  static override summary = 'Show help for clutchcall, a topic or a command (also -h and --help).'
  static override description = 'With no argument: every topic and command. With a topic (calls, cdr, config, hep, recordings, synth): its commands. With a command: its usage, flags and examples, as `clutchcall COMMAND --help` shows them. An unknown name fails with CC_ERR_UNKNOWN_COMMAND (exit 2) and the nearest command id.'

  static override strict = false

  static override args = {command: Args.string({description: 'A topic or command, words separated by spaces (calls tail).', required: false})}

  static override examples = [
    {description: 'Every command', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'The commands of a topic', command: '<%= config.bin %> <%= command.id %> calls'},
    {description: 'One command', command: '<%= config.bin %> <%= command.id %> cdr query'},
  ]

  async run(): Promise<HelpResult> {
    const {argv} = await this.parse(HelpCommand)
    const words = (argv as string[]).filter((word) => !word.startsWith('-'))
    const id = words.join(':')
    const command = id === '' ? undefined : this.config.findCommand(id)
    if (id !== '' && command === undefined && this.config.findTopic(id) === undefined) {
      const {unknownCommandError} = await import('../src/cli/hooks/command-not-found.js')
      throw unknownCommandError(id, this.config.commandIDs)
    }
    if (!this.jsonEnabled()) await new Help(this.config, this.config.pjson.oclif.helpOptions ?? {}).showHelp(words)
    if (command) {
      return {
        command: command.id.replaceAll(':', ' '),
        summary: command.summary ?? '',
        description: command.description ?? '',
        flags: Object.values(command.flags)
          .filter((flag) => !flag.hidden)
          .map((flag) => ({name: `--${flag.name}`, ...(flag.char === undefined ? {} : {char: `-${flag.char}`}), summary: flag.summary ?? flag.description ?? ''})),
      }
    }
    const commands = this.config.commands
      .filter((entry) => !entry.hidden && (id === '' || entry.id.startsWith(`${id}:`)))
      .map((entry) => ({command: entry.id.replaceAll(':', ' '), summary: entry.summary ?? ''}))
      .sort((a, b) => (a.command < b.command ? -1 : a.command > b.command ? 1 : 0))
    return {topic: id.replaceAll(':', ' '), commands}
  }
}
