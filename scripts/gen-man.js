#!/usr/bin/env node
// Writes one man page per command (plus clutchcall(1)) from the command
// metadata oclif already has: summary, description, flags, args, examples.
// Usage: node scripts/gen-man.js OUTDIR. The pages are checked in under man/;
// a test regenerates them and fails when they are stale. Writing into man/
// also updates package.json's "man" list, which `npm install -g` links into
// the system's man path.
import {mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Config} from '@oclif/core'

const outDir = process.argv[2]
if (!outDir) {
  process.stderr.write('usage: node scripts/gen-man.js OUTDIR\n')
  process.exit(2)
}

const root = fileURLToPath(new URL('..', import.meta.url))
const config = await Config.load(root)
const bin = config.bin

/** Escapes text for roff: backslashes, and a leading dot or quote that would read as a request. */
const roff = (text) =>
  String(text ?? '')
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n')

const render = (template, commandId) =>
  String(template).replace(/<%= config.bin %>/g, bin).replace(/<%= command.id %>/g, commandId.replace(/:/g, ' '))

const EXIT_STATUS = ['.SH EXIT STATUS', '.TP', '0', 'Success.', '.TP', '1', 'The operation failed; the error code (CC_ERR_*) and what to try are printed on stderr, or in the JSON envelope with \\-\\-json.', '.TP', '2', 'Usage error: an unknown flag, a bad flag value or a missing argument.']
const ENVIRONMENT = [
  '.SH ENVIRONMENT',
  '.TP', 'CLUTCHCALL_HOME', 'State directory (admin socket, pid file, log, CDR spool). Default ~/.clutchcall.',
  '.TP', 'CLUTCHCALL_CONFIG', 'Config file, when \\-\\-config is not given.',
  '.TP', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTLP/HTTP base endpoint for traces (/v1/traces is appended); overrides tracing.endpoint and, unless tracing.enabled is false, switches trace export on.',
  '.TP', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTLP/HTTP traces URL, used as given; wins over OTEL_EXPORTER_OTLP_ENDPOINT and switches trace export on the same way.',
  '.TP', 'OTEL_SDK_DISABLED', 'true switches trace export off, whatever the config says.',
]

const flagLines = (command) =>
  Object.entries(command.flags ?? {})
    .filter(([, flag]) => !flag.hidden)
    .sort(([a], [b]) => a.localeCompare(b))
    .flatMap(([name, flag]) => {
      const spelling = `${flag.char ? `\\-${flag.char}, ` : ''}\\-\\-${roff(name).replace(/\\-/g, '\\-')}${flag.type === 'option' ? ` \\fI${(flag.helpValue ?? name).toUpperCase()}\\fR` : ''}`
      const details = [flag.summary ?? flag.description ?? '']
      if (flag.options) details.push(`One of: ${flag.options.join(', ')}.`)
      if (flag.default !== undefined && flag.type === 'option') details.push(`Default: ${flag.default}.`)
      return ['.TP', spelling, roff(details.join(' '))]
    })

const commandPage = (command) => {
  const words = command.id.split(':')
  const pageName = [bin, ...words].join('-')
  const args = Object.entries(command.args ?? {})
  const synopsis = `.B ${bin} ${words.join(' ')}\n${args.map(([name, arg]) => (arg.required ? `\\fI${name.toUpperCase()}\\fR` : `[\\fI${name.toUpperCase()}\\fR]`)).join(' ')} [\\fIFLAGS\\fR]`.trimEnd()
  const lines = [
    `.TH ${pageName.toUpperCase()} 1 "" "${bin} ${config.version}" "ClutchCall Manual"`,
    '.SH NAME',
    `${roff(pageName)} \\- ${roff(command.summary ?? '')}`,
    '.SH SYNOPSIS',
    synopsis,
    '.SH DESCRIPTION',
    roff(render(command.description ?? command.summary ?? '', command.id)).replace(/\n\n/g, '\n.PP\n'),
  ]
  if (args.length > 0) {
    lines.push('.SH ARGUMENTS')
    for (const [name, arg] of args) lines.push('.TP', `\\fI${name.toUpperCase()}\\fR`, roff(arg.description ?? ''))
  }
  lines.push('.SH OPTIONS', ...flagLines(command))
  const examples = command.examples ?? []
  if (examples.length > 0) {
    lines.push('.SH EXAMPLES')
    for (const example of examples) {
      const {description, command: line} = typeof example === 'string' ? {description: '', command: example} : example
      if (description) lines.push('.PP', roff(render(description, command.id)))
      lines.push('.PP', '.RS 4', `.B ${roff(render(line, command.id))}`, '.RE')
    }
  }
  lines.push(...EXIT_STATUS, ...ENVIRONMENT, '.SH SEE ALSO', `\\fB${bin}\\fR(1)`)
  return {file: `${pageName}.1`, text: `${lines.join('\n')}\n`}
}

const commands = [...config.commands].sort((a, b) => a.id.localeCompare(b.id))
const overview = {
  file: `${bin}.1`,
  text: `${[
    `.TH ${bin.toUpperCase()} 1 "" "${bin} ${config.version}" "ClutchCall Manual"`,
    '.SH NAME',
    `${bin} \\- ${roff(config.pjson.description)}`,
    '.SH SYNOPSIS',
    `.B ${bin}\n\\fICOMMAND\\fR [\\fIFLAGS\\fR]`,
    '.SH COMMANDS',
    ...commands.flatMap((command) => ['.TP', `\\fB${bin} ${command.id.replace(/:/g, ' ')}\\fR`, `${roff(command.summary ?? '')} See \\fB${[bin, ...command.id.split(':')].join('-')}\\fR(1).`]),
    ...EXIT_STATUS,
    ...ENVIRONMENT,
  ].join('\n')}\n`,
}

mkdirSync(outDir, {recursive: true})
for (const file of readdirSync(outDir)) if (file.endsWith('.1')) rmSync(join(outDir, file))
for (const page of [overview, ...commands.map(commandPage)]) writeFileSync(join(outDir, page.file), page.text)

if (resolve(outDir) === join(root, 'man')) {
  const packageFile = join(root, 'package.json')
  const pjson = JSON.parse(readFileSync(packageFile, 'utf8'))
  pjson.man = readdirSync(outDir).filter((file) => file.endsWith('.1')).sort().map((file) => `./man/${file}`)
  writeFileSync(packageFile, `${JSON.stringify(pjson, null, 2)}\n`)
}
