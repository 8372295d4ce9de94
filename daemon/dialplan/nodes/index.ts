// Every node type's handler, checked against the node types of the config schema.
import type {DialplanCall} from '../call-context.js'
import type {NodeHandlers} from '../executor.js'
import {agentNode} from './agent.js'
import {answerNode, echoNode, hangupNode, playNode, recordNode} from './basic.js'
import {bridgeNode} from './bridge.js'
import {transferNode} from './transfer.js'

export const NODE_HANDLERS: NodeHandlers<DialplanCall> = {
  answer: answerNode,
  echo: echoNode,
  play: playNode,
  record: recordNode,
  bridge: bridgeNode,
  agent: agentNode,
  transfer: transferNode,
  hangup: hangupNode,
}
