// Runs a tenant's dialplan: a graph of nodes where each node's outcome picks the
// next edge. The executor knows the graph, not what nodes do: node handlers are
// passed in, so the same walk drives SIP calls and SDK calls alike.
import type {Dialplan, DialplanNode} from '../../src/config/schema.js'

export type NodeType = DialplanNode['type']
export type NodeOf<T extends NodeType> = Extract<DialplanNode, {type: T}>

/** Runs one node; resolves with its outcome (`answered`, `completed`, `busy`, …). */
export type NodeHandler<T extends NodeType, Call> = (node: NodeOf<T>, call: Call, nodeId: string) => Promise<string>
export type NodeHandlers<Call> = {[T in NodeType]: NodeHandler<T, Call>}

export interface DialplanObserver {
  nodeStarted?(nodeId: string, node: DialplanNode): void
  nodeFinished?(nodeId: string, node: DialplanNode, outcome: string): void
}

export interface ExecutableCall {
  /** Resolves when the call has ended, whoever ended it; the walk stops there. */
  readonly ended: Promise<unknown>
  isEnded(): boolean
  /** Ends the call when the plan runs out of nodes. */
  hangup(cause: number): Promise<void>
}

/** A plan that loops back on itself still ends: no call walks more nodes than this. */
export const MAX_NODES_PER_CALL = 256
const NORMAL_CLEARING = 16

export const nextNodeId = (node: DialplanNode, outcome: string): string | undefined => {
  if (!('next' in node) || node.next === undefined) return undefined
  if (typeof node.next === 'string') return node.next
  return node.next[outcome] ?? node.next.default
}

const CALL_ENDED: unique symbol = Symbol('call ended')

export const runDialplan = async <Call extends ExecutableCall>(
  plan: Dialplan,
  call: Call,
  handlers: NodeHandlers<Call>,
  observer: DialplanObserver = {},
): Promise<{readonly path: readonly string[]; readonly lastOutcome: string | undefined}> => {
  const path: string[] = []
  let nodeId: string | undefined = plan.start
  let lastOutcome: string | undefined
  const ended = call.ended.then((): typeof CALL_ENDED => CALL_ENDED)
  while (nodeId !== undefined && !call.isEnded()) {
    const node: DialplanNode | undefined = plan.nodes[nodeId]
    if (!node || path.length >= MAX_NODES_PER_CALL) break
    path.push(nodeId)
    observer.nodeStarted?.(nodeId, node)
    const handler = handlers[node.type] as NodeHandler<NodeType, Call>
    const outcome: string | typeof CALL_ENDED = await Promise.race([handler(node, call, nodeId), ended])
    if (typeof outcome !== 'string') {
      observer.nodeFinished?.(nodeId, node, 'hangup')
      break
    }
    lastOutcome = outcome
    observer.nodeFinished?.(nodeId, node, outcome)
    if (node.type === 'hangup') break
    nodeId = nextNodeId(node, outcome)
  }
  if (!call.isEnded()) await call.hangup(NORMAL_CLEARING)
  return {path, lastOutcome}
}
