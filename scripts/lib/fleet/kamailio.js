// The fleet's SIP load balancer: Debian's Kamailio with the dispatcher module.
// Every new INVITE goes to one gateway of set 1 (round robin); the dispatcher
// probes each gateway with OPTIONS every second and takes a gateway out of the
// rotation at its first failed probe (no answer, or 503 while it drains), and
// back at its first 200. An INVITE a gateway does not answer within fr_timer,
// or answers with 503, fails over to the next gateway and marks the first one
// down at once. Record-Route keeps the whole dialog on the balancer.
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {freePort, startDetached} from './proc.js'

export const KAMAILIO_MODULES = process.env.KAMAILIO_MODULES ?? '/usr/lib/x86_64-linux-gnu/kamailio/modules'

/** Dispatcher algorithm 4: round robin over the active gateways (docs/fleet.md says why). */
export const DISPATCHER_ALGORITHM = 4
export const PING_INTERVAL_S = 1
/** Milliseconds a gateway has to answer a new INVITE at all (its 100 Trying counts) before the call fails over and the gateway is taken out. */
export const INVITE_FR_TIMER_MS = 1500
/**
 * Milliseconds for every other request (BYE, a probe): longer, so that a gateway whose
 * event loop stalls for a moment under load does not lose a BYE (the BYE would get a 408
 * from the balancer, and the call would stay up on the gateway).
 */
export const FR_TIMER_MS = 5000

/** The global part of a UDP-only Kamailio config: one listener, and the stateful-proxy modules plus `modules`. */
export const kamailioPreamble = ({title, address, port, children, modules}) => `#!KAMAILIO
# ${title}
debug=1
log_stderror=yes
children=${children}
disable_tcp=yes
auto_aliases=no
listen=udp:${address}:${port}
alias="${address}:${port}"
mpath="${KAMAILIO_MODULES}/"
${['tm', 'sl', 'rr', 'pv', 'maxfwd', 'siputils', 'textops', ...modules].map((name) => `loadmodule "${name}.so"`).join('\n')}`

export const planKamailio = async (dir, {address = '127.0.0.1', callLog = false} = {}) => {
  const home = join(dir, 'balancer')
  return {
    name: 'balancer',
    kind: 'kamailio',
    address,
    port: await freePort(address, {udp: true}),
    dir: home,
    log: join(home, 'kamailio.log'),
    ctl: join(home, 'kamailio.ctl'),
    callLog,
    command: ['kamailio', '-f', join(home, 'kamailio.cfg'), '-DD', '-E', '-m', '64', '-M', '8', '-P', join(home, 'kamailio.pid'), '-Y', home, '-w', home, ...(callLog ? ['-A', 'WITH_CALL_LOG'] : [])],
  }
}

/** The dispatcher list: set 1, one line per gateway, its node name as the destination id. */
const dispatcherList = (gateways) => gateways.map((gateway) => `1 sip:${gateway.address}:${gateway.sipPort} 0 0 duid=${gateway.name}`).join('\n') + '\n'

export const writeKamailio = (balancer, gateways) => {
  mkdirSync(balancer.dir, {recursive: true})
  writeFileSync(join(balancer.dir, 'dispatcher.list'), dispatcherList(gateways))
  writeFileSync(
    join(balancer.dir, 'kamailio.cfg'),
    `${kamailioPreamble({title: "The fleet's SIP load balancer (written by scripts/fleet; docs/fleet.md).", address: balancer.address, port: balancer.port, children: 4, modules: ['xlog', 'ctl', 'kex', 'dispatcher']})}

modparam("ctl", "binrpc", "unix:${balancer.ctl}")
modparam("tm", "fr_timer", ${FR_TIMER_MS})
modparam("tm", "fr_inv_timer", 30000)
modparam("dispatcher", "list_file", "${join(balancer.dir, 'dispatcher.list')}")
modparam("dispatcher", "flags", 2)
modparam("dispatcher", "ds_ping_method", "OPTIONS")
modparam("dispatcher", "ds_ping_from", "sip:balancer@${balancer.address}:${balancer.port}")
modparam("dispatcher", "ds_ping_interval", ${PING_INTERVAL_S})
modparam("dispatcher", "ds_probing_threshold", 1)
modparam("dispatcher", "ds_inactive_threshold", 1)
modparam("dispatcher", "ds_probing_mode", 1)

request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
    sl_send_reply("404", "Not here");
    exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
  # The balancer's own health: an OPTIONS to it.
  if (is_method("OPTIONS") && uri == myself && $rU == $null) { sl_send_reply("200", "OK"); exit; }
  if (!is_method("INVITE")) { sl_send_reply("405", "Method Not Allowed"); exit; }
  # A retransmitted INVITE belongs to its transaction.
  if (t_check_trans()) { exit; }
  record_route();
  if (!ds_select_dst("1", "${DISPATCHER_ALGORITHM}")) { send_reply("503", "No Gateway Available"); exit; }
#!ifdef WITH_CALL_LOG
  xlog("L_NOTICE", "fleet-call $ci $du $TV(Sn)\\n");
#!endif
  t_set_fr(30000, ${INVITE_FR_TIMER_MS});
  t_on_failure("FAILOVER");
  if (!t_relay()) { sl_reply_error(); }
}

# A gateway that does not answer at all (crashed, unreachable) is taken out now
# rather than at its next failed probe; one that answers 503 (draining past its
# grace, overloaded) only loses this call: its probes say when it is out. Either
# way the call goes to the next gateway.
failure_route[FAILOVER] {
  if (t_is_canceled()) { exit; }
  if (t_branch_timeout() || t_check_status("503")) {
    if (t_branch_timeout() && !t_branch_replied()) { ds_mark_dst("ip"); }
    if (ds_next_dst()) {
#!ifdef WITH_CALL_LOG
      xlog("L_NOTICE", "fleet-call $ci $du $TV(Sn) failover\\n");
#!endif
      t_set_fr(30000, ${INVITE_FR_TIMER_MS});
      t_on_failure("FAILOVER");
      t_relay();
      exit;
    }
  }
}

event_route[dispatcher:dst-down] {
  xlog("L_NOTICE", "fleet-dst-down $ru $du $TV(Sn)\\n");
}

event_route[dispatcher:dst-up] {
  xlog("L_NOTICE", "fleet-dst-up $ru $du $TV(Sn)\\n");
}
`,
  )
}

export const startKamailio = (balancer) => startDetached(balancer.command[0], balancer.command.slice(1), {cwd: balancer.dir, logFile: balancer.log})
