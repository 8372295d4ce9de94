// What the call benchmarks read from /proc: CPU ticks and run-queue waits of
// every daemon thread, of SIPp, of every other process and of the machine;
// kernel drops at UDP sockets by port range; the system's UDP counters.
import {readFileSync, readdirSync} from 'node:fs'
import {CLK_TCK, CORES, machineTicks, readTicks} from './measure.js'

export const processTicks = (pid) => readTicks(`/proc/${pid}/stat`)
/** Nanoseconds a thread ran and waited on a run queue (/proc/<pid>/task/<tid>/schedstat). */
export const threadSched = (pid) => {
  const waits = new Map()
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number)
      waits.set(Number(tid), {run, wait})
    }
  } catch {
    // The process is gone, or schedstats are not available.
  }
  return waits
}
export const threadTicks = (pid) => {
  const ticks = new Map()
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) ticks.set(Number(tid), readTicks(`/proc/${pid}/task/${tid}/stat`))
  } catch {
    // The process is gone.
  }
  return ticks
}
/** The UDP sockets bound to a local port in [from, to], from /proc/net/udp and udp6: inode, receive queue and drops. */
const udpSocketsIn = (from, to) => {
  const sockets = []
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text = ''
    try {
      text = readFileSync(file, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      if (fields.length < 13) continue
      const port = Number.parseInt(fields[1].split(':')[1], 16)
      if (port < from || port > to) continue
      sockets.push({inode: fields[9], queue: Number.parseInt(fields[4].split(':')[1], 16), drops: Number(fields[12])})
    }
  }
  return sockets
}
/** Kernel drops (receive buffer full) summed over the local UDP ports in [from, to], and the fullest receive queue. */
export const udpDrops = (from, to) => {
  const sockets = udpSocketsIn(from, to)
  return {
    drops: sockets.reduce((sum, socket) => sum + socket.drops, 0),
    sockets: sockets.length,
    maxQueue: sockets.reduce((max, socket) => Math.max(max, socket.queue), 0),
  }
}
/**
 * Kernel drops at the UDP sockets of a port range over a whole level: the
 * drops counter lives and dies with its socket, so it is sampled every
 * second and the last value of each socket (by inode) is kept.
 */
export const dropTracker = (from, to) => {
  const bySocket = new Map()
  const sample = () => {
    for (const {inode, drops} of udpSocketsIn(from, to)) bySocket.set(inode, Math.max(bySocket.get(inode) ?? 0, drops))
  }
  sample()
  const start = new Map(bySocket)
  const timer = setInterval(sample, 1000)
  return {
    stop() {
      clearInterval(timer)
      sample()
      let drops = 0
      for (const [inode, value] of bySocket) drops += value - (start.get(inode) ?? 0)
      return drops
    },
  }
}

export const snmpUdp = () => {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((line) => line.startsWith('Udp:'))
  const names = lines[0].split(/\s+/).slice(1)
  const values = lines[1].split(/\s+/).slice(1).map(Number)
  return Object.fromEntries(names.map((name, index) => [name, values[index]]))
}

/** CPU ticks of every process, to name what else was busy. */
export const allProcesses = () => {
  const ticks = new Map()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const value = readTicks(`/proc/${entry}/stat`)
    if (value > 0) ticks.set(Number(entry), value)
  }
  return ticks
}
export const commandOf = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).map((part) => part.replace(/^.*\/(?=[^/]+$)/, '')).join(' ').slice(0, 70)
  } catch {
    return `pid ${pid}`
  }
}

/**
 * A CPU snapshot of the daemons (per thread), SIPp, this script, every other
 * process and the whole machine. `daemonPids`: one pid, or several (part s
 * of bench:calls runs two daemons). `sippPids`: SIPp's pid, or several (a
 * caller and its callee), counted together.
 */
export const snapshot = (daemonPids, sippPids) => {
  const pids = [daemonPids].flat()
  const sipps = [sippPids].flat().filter(Boolean)
  return {
    at: performance.now(),
    daemons: pids.map((pid) => ({pid, ticks: threadTicks(pid), sched: threadSched(pid)})),
    sipp: sipps.reduce((sum, pid) => sum + processTicks(pid), 0),
    sippPids: sipps,
    self: process.cpuUsage(),
    machine: machineTicks(),
    processes: allProcesses(),
    snmp: snmpUdp(),
  }
}

/** One daemon's CPU between two of its thread samples, in % of one core: main thread, its `shards` busiest other threads, the rest. */
const daemonCpu = (before, after, shards, ofCore, seconds) => {
  const pid = after.pid
  const deltas = [...after.ticks].map(([tid, ticks]) => [tid, ticks - (before.ticks.get(tid) ?? 0)])
  const main = deltas.find(([tid]) => tid === pid)?.[1] ?? 0
  const others = deltas.filter(([tid]) => tid !== pid).sort((a, b) => b[1] - a[1])
  // Time spent runnable but not running: a thread that waits a lot is starved of CPU, whatever its own use.
  const waitOf = (tid) => {
    const end = after.sched.get(tid)
    const start = before.sched.get(tid)
    return end && start ? (100 * (end.wait - start.wait)) / 1e9 / seconds : Number.NaN
  }
  const daemonTicks = deltas.reduce((sum, [, ticks]) => sum + ticks, 0)
  return {
    pid,
    daemon: ofCore(daemonTicks),
    daemonSeconds: daemonTicks / CLK_TCK,
    main: ofCore(main),
    mainWait: waitOf(pid),
    shards: others.slice(0, shards).map(([, ticks]) => ofCore(ticks)),
    shardWaits: others.slice(0, shards).map(([tid]) => waitOf(tid)),
    otherThreads: ofCore(others.slice(shards).reduce((sum, [, ticks]) => sum + ticks, 0)),
  }
}

/**
 * CPU use between two snapshots, in % of one core. The first daemon's figures
 * are at the top level (daemon, daemonSeconds, main, mainWait, shards,
 * shardWaits, otherThreads); `daemons` has each daemon's; `elsewhere` is
 * what neither the daemons, SIPp nor this script took.
 */
export const cpuBetween = (before, after, shards) => {
  const seconds = (after.at - before.at) / 1000
  const ofCore = (ticks) => (100 * ticks) / CLK_TCK / seconds
  const daemons = after.daemons.map((end, index) => daemonCpu(before.daemons[index], end, shards, ofCore, seconds))
  const selfMicros = after.self.user + after.self.system - before.self.user - before.self.system
  const machineBusy = after.machine.busy - before.machine.busy
  const machineTotal = after.machine.total - before.machine.total
  const machine = (100 * CORES * machineBusy) / Math.max(1, machineTotal)
  const daemonsTotal = daemons.reduce((sum, one) => sum + one.daemon, 0)
  const sipp = ofCore(after.sipp - before.sipp)
  const self = selfMicros / 1e4 / seconds
  const ours = new Set([...daemons.map((one) => one.pid), process.pid])
  const busiestOthers = [...after.processes]
    .filter(([pid]) => !ours.has(pid) && !after.sippPids.includes(pid))
    .map(([pid, ticks]) => [pid, ofCore(ticks - (before.processes.get(pid) ?? ticks))])
    .filter(([, share]) => share >= 5)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([pid, share]) => `${commandOf(pid)} ${share.toFixed(0)}%`)
  const {pid, ...first} = daemons[0]
  return {
    seconds,
    busiestOthers,
    ...first,
    daemons,
    sipp,
    self,
    machine,
    elsewhere: Math.max(0, machine - daemonsTotal - sipp - self),
    rcvbufErrors: after.snmp.RcvbufErrors - before.snmp.RcvbufErrors,
    sndbufErrors: after.snmp.SndbufErrors - before.snmp.SndbufErrors,
  }
}
