// AdminClient.subscribeCalls, as `calls tail` uses it, against a socket that
// answers the subscription and sends events right behind the answer.
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {AdminClient} from '../../../../src/admin/client.js'
import type {CallEvent} from '../../../../src/calls/events.js'
import {answer, create, summary} from './events.fixture.js'

describe('AdminClient.subscribeCalls', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cc-sub-'))
  const socketPath = join(dir, 'admin.sock')
  const received: Array<{method: string; params: unknown}> = []
  let server: Server

  before(async () => {
    server = createServer((socket) => {
      let buffered = ''
      socket.on('data', (chunk) => {
        buffered += chunk.toString()
        for (let newline = buffered.indexOf('\n'); newline !== -1; newline = buffered.indexOf('\n')) {
          const request = JSON.parse(buffered.slice(0, newline)) as {id: number; method: string; params: unknown}
          buffered = buffered.slice(newline + 1)
          received.push(request)
          const reply = (result: unknown) => socket.write(`${JSON.stringify({jsonrpc: '2.0', id: request.id, result})}\n`)
          const notify = (event: CallEvent) => `${JSON.stringify({jsonrpc: '2.0', method: 'calls.event', params: event})}\n`
          if (request.method === 'daemon.hello') reply({protocol: 1, version: 'test', pid: 1})
          else if (request.method === 'calls.subscribe') {
            // The answer and two events in one write: the events reach the client before its await resumes.
            socket.write(
              `${JSON.stringify({jsonrpc: '2.0', id: request.id, result: {calls: [summary(1)]}})}\n${JSON.stringify({jsonrpc: '2.0', method: 'other.note', params: {}})}\n${notify(create(2))}${notify(answer(2))}`,
            )
            setTimeout(() => socket.end(), 50)
          }
        }
      })
    })
    await new Promise<void>((resolve) => server.listen(socketPath, resolve))
  })
  after(() => {
    server.close()
    rmSync(dir, {recursive: true, force: true})
  })

  it('returns the initial calls before the first event, then every event in order', async () => {
    const client = await AdminClient.connect(socketPath)
    const order: string[] = []
    const calls = await client.subscribeCalls({tenant: 'acme'}, (event) => order.push(event.type))
    order.push(`initial:${calls.length}`)
    await client.closed()
    assert.deepEqual(order, ['initial:1', 'CHANNEL_CREATE', 'CHANNEL_ANSWER'])
    assert.deepEqual(received.at(-1), {jsonrpc: '2.0', id: 2, method: 'calls.subscribe', params: {tenant: 'acme'}})
  })
})
