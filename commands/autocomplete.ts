import {Args} from '@oclif/core'
import {BaseCommand} from '../src/cli/base-command.js'

export interface AutocompleteResult {
  readonly shell: string
  readonly script: string
}

export default class Autocomplete extends BaseCommand<AutocompleteResult> {
  static override summary = 'Print a shell completion script (bash or zsh) for every command and flag.'
  static override description = `The script is generated from this CLI's commands and flags and holds all of them, so Tab completes without starting clutchcall. Load it from your shell's start-up file (see the examples); re-run after upgrading clutchcall to pick up new commands. zsh uses the same completion through its bash-completion emulation (bashcompinit). With --json the script is in .result.script.`

  static override args = {shell: Args.string({description: 'bash or zsh (default: the shell named by $SHELL, else bash).', required: false, options: ['bash', 'zsh']})}

  static override examples = [
    {description: 'bash: load it in every new shell', command: "echo 'source <(<%= config.bin %> <%= command.id %> bash)' >> ~/.bashrc"},
    {description: 'bash: install it for bash-completion', command: '<%= config.bin %> <%= command.id %> bash > ~/.local/share/bash-completion/completions/<%= config.bin %>'},
    {description: 'zsh', command: "echo 'source <(<%= config.bin %> <%= command.id %> zsh)' >> ~/.zshrc"},
  ]

  async run(): Promise<AutocompleteResult> {
    const {args} = await this.parse(Autocomplete)
    const {completionScript} = await import('../src/cli/completion.js')
    const fromEnv = (process.env.SHELL ?? '').split('/').pop() === 'zsh' ? 'zsh' : 'bash'
    const shell = args.shell === 'zsh' || args.shell === 'bash' ? args.shell : fromEnv
    const commands = this.config.commands
      .filter((command) => !command.hidden)
      .map((command) => ({
        id: command.id,
        flags: Object.values(command.flags).flatMap((flag) => (flag.char === undefined ? [flag.name] : [flag.name, flag.char])),
        ...(command.id === 'autocomplete' ? {argValues: ['bash', 'zsh']} : {}),
        ...(command.id === 'help' ? {argValues: [...new Set(this.config.commandIDs.map((id) => id.split(':')[0] ?? ''))]} : {}),
      }))
    const script = completionScript(shell, this.config.bin, commands)
    if (!this.jsonEnabled()) process.stdout.write(script)
    return {shell, script}
  }
}
