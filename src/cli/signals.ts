// For commands that run until the operator stops them (`calls tail`): SIGINT
// and SIGTERM end them normally, with exit 0, instead of killing the process.

export interface StopSignal {
  /** Resolves with the signal's name once SIGINT or SIGTERM arrives. */
  readonly received: Promise<NodeJS.Signals>
  /** Removes the handlers, giving the signals back their default behaviour. */
  dispose(): void
}

export const onStopSignal = (signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM']): StopSignal => {
  let handler: (signal: NodeJS.Signals) => void = () => {}
  const received = new Promise<NodeJS.Signals>((resolve) => {
    handler = (signal) => resolve(signal)
  })
  for (const signal of signals) process.on(signal, handler)
  return {
    received,
    dispose: () => {
      for (const signal of signals) process.off(signal, handler)
    },
  }
}
