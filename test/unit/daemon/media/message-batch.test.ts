import assert from 'node:assert/strict'
import {setImmediate as nextTurn} from 'node:timers/promises'
import {test} from 'node:test'
import type {TransferListItem} from 'node:worker_threads'
import {type Batched, MessageBatcher, unbatch} from '../../../../daemon/media/message-batch.js'
import {unpackPiped} from '../../../../daemon/media/piped-rtp.js'

type Message = {readonly type: string; readonly n: number}

const collector = () => {
  const posts: Array<{message: Batched<Message>; transfer: readonly TransferListItem[]}> = []
  const batcher = new MessageBatcher<Message>((message, transfer) => posts.push({message, transfer}))
  return {posts, batcher}
}

test('messages sent in one turn of the event loop leave as one batch, in order, with every transfer', async () => {
  const {posts, batcher} = collector()
  const first = new ArrayBuffer(4)
  const second = new ArrayBuffer(8)
  batcher.send({type: 'a', n: 1}, [first])
  batcher.send({type: 'b', n: 2})
  batcher.send({type: 'c', n: 3}, [second])
  assert.equal(posts.length, 0, 'nothing leaves before the turn ends')
  await nextTurn()
  assert.equal(posts.length, 1)
  const seen: number[] = []
  unbatch(posts[0]!.message, (item) => seen.push(item.n))
  assert.deepEqual(seen, [1, 2, 3])
  assert.deepEqual(posts[0]!.transfer, [first, second])
})

test('a lone message leaves as itself, and the next turn starts a new batch', async () => {
  const {posts, batcher} = collector()
  batcher.send({type: 'a', n: 1})
  await nextTurn()
  batcher.send({type: 'b', n: 2})
  batcher.send({type: 'c', n: 3})
  await nextTurn()
  assert.deepEqual(posts[0]!.message, {type: 'a', n: 1})
  assert.equal(posts[1]!.message.type, 'batch')
  const seen: number[] = []
  for (const post of posts) unbatch(post.message, (item) => seen.push(item.n))
  assert.deepEqual(seen, [1, 2, 3])
})

test('discard drops what is queued: nothing is posted to a side that is gone', async () => {
  const {posts, batcher} = collector()
  batcher.send({type: 'a', n: 1})
  batcher.discard()
  await nextTurn()
  assert.equal(posts.length, 0)
})

test('piped RTP of one turn leaves packed in one message, at the place of its first datagram, its buffer transferred', async () => {
  const posts: Array<{message: Batched<Message | {type: 'piped'; packed: Uint8Array}>; transfer: readonly TransferListItem[]}> = []
  const batcher = new MessageBatcher<Message | {type: 'piped'; packed: Uint8Array}>(
    (message, transfer) => posts.push({message, transfer}),
    (packed) => ({type: 'piped', packed}),
    0,
  )
  batcher.send({type: 'a', n: 1})
  batcher.sendPiped(4, Buffer.from('aa', 'hex'))
  batcher.send({type: 'b', n: 2})
  batcher.sendPiped(5, Buffer.from('bbcc', 'hex'))
  await nextTurn()
  assert.equal(posts.length, 1)
  const items: Array<Message | {type: 'piped'; packed: Uint8Array}> = []
  unbatch(posts[0]!.message, (item) => items.push(item))
  assert.deepEqual(items.map((item) => item.type), ['a', 'piped', 'b'])
  const piped = items[1] as {type: 'piped'; packed: Uint8Array}
  const datagrams: string[] = []
  unpackPiped(piped.packed, (streamId, datagram) => datagrams.push(`${streamId}:${datagram.toString('hex')}`))
  assert.deepEqual(datagrams, ['4:aa', '5:bbcc'])
  assert.deepEqual(posts[0]!.transfer, [piped.packed.buffer])
  // The next turn starts a new packed buffer.
  batcher.sendPiped(6, Buffer.from('dd', 'hex'))
  await nextTurn()
  assert.equal(posts.length, 2)
  assert.equal((posts[1]!.message as {type: string}).type, 'piped')
})

test('a batcher without a piped item refuses piped RTP', () => {
  const {batcher} = collector()
  assert.throws(() => batcher.sendPiped(1, Buffer.alloc(1)), /carries no piped RTP/)
})

test('piped RTP leaves at most every interval: a datagram soon after a flush waits for the interval, a command does not', async () => {
  const posts: Array<Batched<Message | {type: 'piped'; packed: Uint8Array}>> = []
  const batcher = new MessageBatcher<Message | {type: 'piped'; packed: Uint8Array}>(
    (message) => posts.push(message),
    (packed) => ({type: 'piped', packed}),
    40,
  )
  batcher.sendPiped(1, Buffer.from('01', 'hex'))
  await nextTurn()
  assert.equal(posts.length, 1, 'the first datagram leaves at the end of its turn')
  batcher.sendPiped(1, Buffer.from('02', 'hex'))
  await nextTurn()
  assert.equal(posts.length, 1, 'the next one waits for the interval')
  batcher.sendPiped(1, Buffer.from('03', 'hex'))
  await new Promise((resolve) => setTimeout(resolve, 60))
  assert.equal(posts.length, 2)
  const datagrams: string[] = []
  unbatch(posts[1]!, (item) => {
    if (item.type === 'piped') unpackPiped((item as {packed: Uint8Array}).packed, (_id, datagram) => datagrams.push(datagram.toString('hex')))
  })
  assert.deepEqual(datagrams, ['02', '03'], 'both waited and left together')
  // A command leaves at the end of its turn, taking the waiting datagrams with it.
  batcher.sendPiped(1, Buffer.from('04', 'hex'))
  batcher.send({type: 'close', n: 9})
  await nextTurn()
  assert.equal(posts.length, 3)
  const items: string[] = []
  unbatch(posts[2]!, (item) => items.push(item.type))
  assert.deepEqual(items, ['piped', 'close'])
})
