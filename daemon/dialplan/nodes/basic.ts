// The simple nodes: answer, echo, play, record, hangup.
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {waitFor, type DialplanCall} from '../call-context.js'
import type {NodeHandler} from '../executor.js'

export const answerNode: NodeHandler<'answer', DialplanCall> = async (_node, ctx) => {
  if (!ctx.call.isAnswered) await ctx.leg.answer()
  return 'answered'
}

export const echoNode: NodeHandler<'echo', DialplanCall> = async (node, ctx) => {
  if (!ctx.call.isAnswered) await ctx.leg.answer()
  ctx.leg.media.echo()
  await waitFor(node.max_duration_s === undefined ? undefined : node.max_duration_s * 1000)
  ctx.leg.media.silence()
  return 'completed'
}

export const playNode: NodeHandler<'play', DialplanCall> = async (node, ctx) => {
  // `early`: before the answer, as early media (183); a leg that cannot do early media is answered instead.
  const early = node.early === true && !ctx.call.isAnswered && ctx.leg.earlyMedia !== undefined && (await ctx.leg.earlyMedia())
  if (!early && !ctx.call.isAnswered) await ctx.leg.answer()
  if (node.tone) await ctx.leg.media.play({tone: {frequencyHz: node.tone.frequency_hz, durationMs: node.tone.duration_ms}})
  else if (node.file) await ctx.leg.media.play({file: node.file})
  else return 'failed'
  return 'completed'
}

export const recordNode: NodeHandler<'record', DialplanCall> = async (node, ctx) => {
  if (!ctx.call.isAnswered) await ctx.leg.answer()
  mkdirSync(ctx.recordingsDir, {recursive: true, mode: 0o700})
  const file = join(ctx.recordingsDir, `${ctx.call.sid}.wav`)
  ctx.leg.media.record(file)
  ctx.call.setRecordingUrl(pathToFileURL(file).href)
  await waitFor(node.max_duration_s * 1000)
  ctx.leg.media.silence()
  return 'completed'
}

export const hangupNode: NodeHandler<'hangup', DialplanCall> = async (node, ctx) => {
  await ctx.call.hangup(node.cause)
  return 'completed'
}
