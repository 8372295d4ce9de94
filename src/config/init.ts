// Writes the annotated sample config (`clutchcall config init`). The file may
// carry passwords once edited, so it is created 0600, and an existing file is
// never replaced unless the caller asked for it.
import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {dirname} from 'node:path'
import {CCError} from '../errors.js'
import {SAMPLE_CONFIG} from './sample.js'

export interface WrittenConfig {
  readonly file: string
  readonly bytes: number
  readonly overwritten: boolean
}

const errorCode = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code

export const writeSampleConfig = (file: string, options: {force: boolean}): WrittenConfig => {
  try {
    mkdirSync(dirname(file), {recursive: true, mode: 0o700})
    const existed = options.force && existsSync(file)
    // 'wx' fails when the file exists, so a concurrent writer cannot slip in between a check and the write.
    writeFileSync(file, SAMPLE_CONFIG, {flag: options.force ? 'w' : 'wx', mode: 0o600})
    return {file, bytes: Buffer.byteLength(SAMPLE_CONFIG), overwritten: existed}
  } catch (error) {
    if (errorCode(error) === 'EEXIST') throw new CCError('CC_ERR_CONFIG_EXISTS', {file})
    throw new CCError('CC_ERR_CONFIG_WRITE', {file, detail: error instanceof Error ? error.message : String(error)}, {cause: error})
  }
}
