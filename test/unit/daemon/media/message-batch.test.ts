import assert from 'node:assert/strict'
import {setImmediate as nextTurn} from 'node:timers/promises'
import {test} from 'node:test'
import type {TransferListItem} from 'node:worker_threads'
import {type Batched, MessageBatcher, unbatch} from '../../../../daemon/media/message-batch.js'

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
