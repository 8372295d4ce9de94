// `recordings list|path`: the WAV files of the record node, read from the home without a daemon.
import assert from 'node:assert/strict'
import {mkdirSync, utimesSync, writeFileSync} from 'node:fs'
import {after, before, describe, it} from 'node:test'
import {wavHeader} from '../../src/media/wav.js'
import {TestHome} from '../helpers/cli.js'

const FIRST = 'CA9f8e7d6c0123456789abcdef01234567'
const SECOND = 'CA9f8e7d6cffffffffffffffffffffffff'
const THIRD = 'CA11112222333344445555666677778888'

describe('recordings', () => {
  const home = new TestHome()
  const dir = home.path('recordings')
  before(() => {
    mkdirSync(dir, {recursive: true})
    // 2 s, 5 s and 0.5 s of 8 kHz audio: µ-law (1 byte a sample) and PCM16 (2).
    writeFileSync(`${dir}/${FIRST}.wav`, Buffer.concat([wavHeader('ulaw', 16_000), Buffer.alloc(16_000)]))
    writeFileSync(`${dir}/${SECOND}.wav`, Buffer.concat([wavHeader('pcm16', 80_000), Buffer.alloc(80_000)]))
    writeFileSync(`${dir}/${THIRD}.wav`, Buffer.concat([wavHeader('alaw', 4000), Buffer.alloc(4000)]))
    writeFileSync(`${dir}/notes.txt`, 'not a recording')
    utimesSync(`${dir}/${FIRST}.wav`, 1_700_000_000, 1_700_000_000)
    utimesSync(`${dir}/${SECOND}.wav`, 1_700_000_100, 1_700_000_100)
    utimesSync(`${dir}/${THIRD}.wav`, 1_700_000_050, 1_700_000_050)
  })
  after(() => home.cleanup())

  it('list: newest first, with size, duration from the header, and mtime', async () => {
    const {code, body} = await home.json(['recordings', 'list'])
    assert.equal(code, 0)
    assert.equal(body.result.dir, dir)
    assert.deepEqual(
      body.result.recordings.map((entry: {call_sid: string; duration_seconds: number; size_bytes: number; modified_ms: number; path: string}) => [entry.call_sid, entry.duration_seconds, entry.size_bytes, entry.modified_ms, entry.path]),
      [
        [SECOND, 5, 80_044, 1_700_000_100_000, `${dir}/${SECOND}.wav`],
        [THIRD, 0.5, 4058, 1_700_000_050_000, `${dir}/${THIRD}.wav`],
        [FIRST, 2, 16_058, 1_700_000_000_000, `${dir}/${FIRST}.wav`],
      ],
    )
    const text = await home.run(['recordings', 'list'])
    assert.equal(text.code, 0)
    assert.match(text.stdout, /CA9f8e7d6c.*78\.2 KiB.*5s/)
  })

  it('path: the absolute path, by full sid or a unique prefix', async () => {
    const full = await home.run(['recordings', 'path', FIRST])
    assert.equal(full.code, 0)
    assert.equal(full.stdout, `${dir}/${FIRST}.wav\n`)
    const short = await home.run(['recordings', 'path', 'CA1111'])
    assert.equal(short.stdout, `${dir}/${THIRD}.wav\n`)
  })

  it('path: a missing one is CC_ERR_RECORDING_NOT_FOUND, an ambiguous prefix lists the matches, a malformed sid is usage', async () => {
    const missing = await home.json(['recordings', 'path', 'CA00000000000000000000000000000000'])
    assert.equal(missing.code, 1)
    assert.equal(missing.body.error?.code, 'CC_ERR_RECORDING_NOT_FOUND')
    assert.ok(missing.body.error?.message.includes(dir))
    const ambiguous = await home.json(['recordings', 'path', 'CA9f8e7d6c'])
    assert.equal(ambiguous.code, 2)
    assert.equal(ambiguous.body.error?.code, 'CC_ERR_CALL_SID_AMBIGUOUS')
    assert.deepEqual(ambiguous.body.error?.data.matches, [FIRST, SECOND])
    const malformed = await home.json(['recordings', 'path', '../../etc/passwd'])
    assert.equal(malformed.code, 2)
    assert.equal(malformed.body.error?.code, 'CC_ERR_USAGE')
  })

  it('list with no recordings folder: an empty list, a note on stderr', async () => {
    const empty = new TestHome()
    try {
      const {code, body} = await empty.json(['recordings', 'list'])
      assert.equal(code, 0)
      assert.deepEqual(body.result.recordings, [])
      const text = await empty.run(['recordings', 'list'])
      assert.equal(text.stdout, '')
      assert.match(text.stderr, /No recordings in /)
    } finally {
      await empty.cleanup()
    }
  })
})
