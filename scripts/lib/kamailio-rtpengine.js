// The reference system of bench:vs-kamailio: Debian's Kamailio as a
// record-routing proxy in front of the callee, with Debian's rtpengine relaying
// the media in userspace (--table=-1: no kernel forwarding module here). Both
// run in the foreground in a temporary directory and stop with the script.
import {spawn} from 'node:child_process'
import {openSync, closeSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {kamailioPreamble} from './fleet/kamailio.js'
import {sleep} from './measure.js'

/**
 * Kamailio's config: a stateful proxy that forwards every INVITE to `callee` and puts rtpengine in the media
 * path. `offerFlags`: more rtpengine flags for the offer (transcoding: `codec-mask-PCMA codec-transcode-PCMU`
 * offers the callee PCMU alone and has rtpengine transcode the caller's PCMA).
 */
export const kamailioConfig = ({address, port, ngPort, callee, children, offerFlags = ''}) => `${kamailioPreamble({title: "bench:vs-kamailio's reference proxy (written by scripts/lib/kamailio-rtpengine.js).", address, port, children, modules: ['kex', 'rtpengine']})}

modparam("rtpengine", "rtpengine_sock", "udp:127.0.0.1:${ngPort}")
modparam("tm", "fr_timer", 5000)
modparam("tm", "fr_inv_timer", 30000)

request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (has_totag()) {
    if (loose_route()) {
      if (is_method("BYE")) { rtpengine_delete(); }
      t_relay();
      exit;
    }
    if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
    sl_send_reply("404", "Not here");
    exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) { rtpengine_delete(); t_relay(); } exit; }
  if (!is_method("INVITE")) { sl_send_reply("405", "Method Not Allowed"); exit; }
  if (t_check_trans()) { exit; }
  record_route();
  if (has_body("application/sdp")) { rtpengine_offer("replace-origin replace-session-connection${offerFlags ? ` ${offerFlags}` : ''}"); }
  $du = "sip:${callee}";
  t_on_reply("ANSWER");
  t_on_failure("FAILED");
  if (!t_relay()) { sl_reply_error(); }
}

onreply_route[ANSWER] {
  if (has_body("application/sdp")) { rtpengine_answer("replace-origin replace-session-connection"); }
}

failure_route[FAILED] {
  rtpengine_delete();
}
`

const startLogged = (command, args, {cwd, log}) => {
  const fd = openSync(log, 'a')
  try {
    return spawn(command, args, {cwd, stdio: ['ignore', fd, fd]})
  } finally {
    closeSync(fd)
  }
}

/** Every descendant of `pid` (Kamailio forks its workers at start and keeps them). */
export const descendants = (pid) => {
  const children = new Map()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (!children.has(parent)) children.set(parent, [])
      children.get(parent).push(Number(entry))
    } catch {
      // Gone meanwhile.
    }
  }
  const all = []
  const walk = (at) => {
    for (const child of children.get(at) ?? []) {
      all.push(child)
      walk(child)
    }
  }
  walk(pid)
  return all
}

/**
 * Starts rtpengine (userspace, ports `rtpMin`–`rtpMax`, NG control on `ngPort`) and Kamailio on
 * `address:port`, forwarding to `callee` (host:port). Resolves when Kamailio answers on its port and
 * rtpengine on its NG port; `pids()` lists every process of the system (Kamailio's workers included).
 */
export const startKamailioRtpengine = async ({dir, address, port, ngPort, callee, rtpMin, rtpMax, children, threads, offerFlags}) => {
  writeFileSync(join(dir, 'kamailio.cfg'), kamailioConfig({address, port, ngPort, callee, children, offerFlags}))
  const rtpengine = startLogged(
    'rtpengine',
    ['--config-file=none', '--foreground', '--log-stderr', '--log-level=4', '--table=-1', `--interface=${address}`, `--listen-ng=127.0.0.1:${ngPort}`,
      `--port-min=${rtpMin}`, `--port-max=${rtpMax}`, `--num-threads=${threads}`, '--delete-delay=0', `--pidfile=${join(dir, 'rtpengine.pid')}`],
    {cwd: dir, log: join(dir, 'rtpengine.log')},
  )
  const kamailio = startLogged('kamailio', ['-f', join(dir, 'kamailio.cfg'), '-DD', '-E', '-m', '256', '-M', '16', '-Y', dir, '-w', dir], {cwd: dir, log: join(dir, 'kamailio.log')})
  const exited = []
  for (const [name, child] of [['rtpengine', rtpengine], ['kamailio', kamailio]]) child.once('exit', (code) => exited.push(`${name} exited (${code})`))
  const stop = async () => {
    for (const child of [kamailio, rtpengine]) if (child.exitCode === null) child.kill('SIGTERM')
    await sleep(500)
    for (const child of [kamailio, rtpengine]) if (child.exitCode === null) child.kill('SIGKILL')
  }
  // Kamailio forks its UDP workers and timers right after start; wait until they are all there.
  const deadline = Date.now() + 15_000
  let last = -1
  while (Date.now() < deadline) {
    await sleep(500)
    if (exited.length) break
    const count = descendants(kamailio.pid).length
    if (count > children && count === last) break
    last = count
  }
  if (exited.length) {
    await stop()
    throw new Error(`${exited.join(', ')}: see ${dir}/kamailio.log and rtpengine.log`)
  }
  return {
    pids: () => [kamailio.pid, ...descendants(kamailio.pid), rtpengine.pid],
    kamailioPids: () => [kamailio.pid, ...descendants(kamailio.pid)],
    rtpenginePid: rtpengine.pid,
    alive: () => exited.length === 0,
    stop,
  }
}
