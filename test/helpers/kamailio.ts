// Kamailio (Debian's 5.6 with kamailio-tls-modules) in two roles:
// - start(): a SIP proxy in front of the gateway: it takes SIP over UDP and
//   relays every new request to one next hop over TLS, record-routing itself
//   so the whole dialog passes through it (double Record-Route: UDP on one
//   side, TLS on the other). Its tls module verifies the next hop's
//   certificate against a CA and presents a client certificate.
// - startRegistrar(): a carrier's registrar (registrar + usrloc in memory,
//   digest with one static password through auth's pv_www_authenticate): it
//   keeps the gateway's binding, and relays calls for a DID to the
//   registered contact, record-routing them; kamcmd reads its location table.
// Run in the foreground from a private folder; stop() ends the process group
// it started, and nothing else.
import {execFile, spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {freePort} from './cli.js'

export const KAMAILIO_MODULES = '/usr/lib/x86_64-linux-gnu/kamailio/modules'

export interface KamailioOptions {
  /** `host:port` of the TLS next hop (the gateway's TLS listener). */
  readonly nextHop: string
  /** The CA the next hop's certificate must chain to. */
  readonly ca: string
  /** The client certificate and key Kamailio presents. */
  readonly cert: string
  readonly key: string
}

export interface RegistrarOptions {
  /** The digest realm of its challenges. */
  readonly realm: string
  /** The one password every user must give (the user name is not checked). */
  readonly password: string
  /** registrar min_expires / max_expires (seconds). */
  readonly minExpires?: number
  readonly maxExpires?: number
  /** Answer a REGISTER asking less than min_expires with 423 Interval Too Brief (registrar min_expires_mode 1) instead of raising it. */
  readonly intervalTooBrief?: boolean
  /** Every INVITE for a number starting with `+` is sent to this user's registered contact (a carrier routing a DID to its customer). */
  readonly didUser: string
  /** Listen on UDP and TCP at this port (default: a free one), e.g. to start the registrar where a gateway already tries to register. */
  readonly port?: number
  /** Also take SIP over TLS, with this certificate, key and CA (verifying the gateway when it relays a call to it). */
  readonly tls?: {readonly ca: string; readonly cert: string; readonly key: string}
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const tlsConfig = (tls: {ca: string; cert: string; key: string}): string => `[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
certificate = ${tls.cert}
private_key = ${tls.key}
ca_list = ${tls.ca}

[client:default]
method = TLSv1.2+
verify_certificate = yes
require_certificate = yes
certificate = ${tls.cert}
private_key = ${tls.key}
ca_list = ${tls.ca}
`

/** Relays in-dialog requests along the route set, and CANCELs of relayed INVITEs. */
const IN_DIALOG = `  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
    sl_send_reply("404", "Not here");
    exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }`

export class Kamailio {
  private output = ''

  /** The TLS port, when it listens on TLS. */
  tlsPort = 0

  private constructor(readonly dir: string, readonly port: number, private readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()))
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()))
  }

  /** `127.0.0.1:PORT`, where it takes SIP over UDP. */
  get address(): string {
    return `127.0.0.1:${this.port}`
  }

  get log(): string {
    return this.output
  }

  static async start(options: KamailioOptions): Promise<Kamailio> {
    const dir = mkdtempSync(join(tmpdir(), 'cc-kamailio-'))
    const port = await freePort()
    const tlsPort = await freePort()
    writeFileSync(join(dir, 'tls.cfg'), tlsConfig(options))
    return Kamailio.launch(
      dir,
      port,
      `#!KAMAILIO
debug=2
log_stderror=yes
children=1
tcp_children=1
enable_tls=yes
auto_aliases=no
listen=udp:127.0.0.1:${port}
listen=tls:127.0.0.1:${tlsPort}
mpath="${KAMAILIO_MODULES}/"
loadmodule "tls.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "siputils.so"
loadmodule "textops.so"
modparam("tls", "config", "${join(dir, 'tls.cfg')}")
modparam("tm", "fr_timer", 5000)

request_route {
${IN_DIALOG}
  record_route();
  $du = "sip:${options.nextHop};transport=tls";
  if (!t_relay()) { sl_reply_error(); }
}
`,
    )
  }

  /** A registrar (see the top of this file), on UDP and TCP (and TLS with `tls`) on loopback. */
  static async startRegistrar(options: RegistrarOptions): Promise<Kamailio> {
    const dir = mkdtempSync(join(tmpdir(), 'cc-kamailio-'))
    const port = options.port ?? (await freePort())
    const tlsPort = options.tls === undefined ? 0 : await freePort()
    if (options.tls !== undefined) writeFileSync(join(dir, 'tls.cfg'), tlsConfig(options.tls))
    const quote = (text: string) => text.replace(/["\\]/g, '')
    const kamailio = await Kamailio.launch(
      dir,
      port,
      `#!KAMAILIO
debug=2
log_stderror=yes
children=1
tcp_children=1
auto_aliases=no
${options.tls === undefined ? '' : 'enable_tls=yes\n'}listen=udp:127.0.0.1:${port}
listen=tcp:127.0.0.1:${port}
${options.tls === undefined ? '' : `listen=tls:127.0.0.1:${tlsPort}\n`}mpath="${KAMAILIO_MODULES}/"
${options.tls === undefined ? '' : 'loadmodule "tls.so"\n'}loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "siputils.so"
loadmodule "textops.so"
loadmodule "xlog.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
loadmodule "ctl.so"
${options.tls === undefined ? '' : `modparam("tls", "config", "${join(dir, 'tls.cfg')}")\n`}modparam("tm", "fr_timer", 5000)
modparam("usrloc", "db_mode", 0)
modparam("registrar", "min_expires", ${options.minExpires ?? 10})
modparam("registrar", "max_expires", ${options.maxExpires ?? 3600})
modparam("registrar", "min_expires_mode", ${options.intervalTooBrief === true ? 1 : 0})
modparam("ctl", "binrpc", "unix:${join(dir, 'kamailio.ctl')}")

request_route {
${IN_DIALOG}
  if (is_method("REGISTER")) {
    xlog("L_INFO", "REGISTER from $si:$sp expires=$hdr(Expires) auth=$au\\n");
    if (!pv_www_authenticate("${quote(options.realm)}", "${quote(options.password)}", "0")) {
      www_challenge("${quote(options.realm)}", "0");
      exit;
    }
    if (!save("location")) { sl_reply_error(); }
    exit;
  }
  if (is_method("OPTIONS")) { sl_send_reply("200", "OK"); exit; }
  if ($rU =~ "^\\+") { $rU = "${quote(options.didUser)}"; }
  if (!lookup("location")) { sl_send_reply("404", "Not Registered"); exit; }
  record_route();
  if (!t_relay()) { sl_reply_error(); }
}
`,
    )
    kamailio.tlsPort = tlsPort
    return kamailio
  }

  /** Runs kamcmd against this Kamailio's control socket (e.g. `ul.dump`). */
  kamcmd(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) =>
      execFile('kamcmd', ['-s', `unix:${join(this.dir, 'kamailio.ctl')}`, ...args], {timeout: 10_000}, (error, stdout, stderr) => (error ? reject(new Error(`kamcmd ${args.join(' ')}: ${error.message}\n${stderr}`)) : resolve(stdout))),
    )
  }

  /** The contacts its location table holds for `user` (from kamcmd ul.dump). */
  async contactsOf(user: string): Promise<string[]> {
    const dump = await this.kamcmd('ul.dump')
    // Each AoR block is `AoR: user` followed by its contacts as `Address: sip:...`.
    const blocks = dump.split(/\bAoR:\s*/).slice(1)
    const block = blocks.find((text) => /^\S+/.exec(text)?.[0] === user)
    return block === undefined ? [] : [...block.matchAll(/Address:\s*(\S+)/g)].map((match) => match[1] ?? '')
  }

  /** How many REGISTER requests it has received so far (from its log). */
  get registerCount(): number {
    return (this.output.match(/REGISTER from /g) ?? []).length
  }

  private static async launch(dir: string, port: number, config: string): Promise<Kamailio> {
    writeFileSync(join(dir, 'kamailio.cfg'), config)
    const child = spawn('kamailio', ['-f', join(dir, 'kamailio.cfg'), '-DD', '-E', '-m', '64', '-M', '8', '-Y', dir, '-P', join(dir, 'kamailio.pid'), '-w', dir], {cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true})
    const proxy = new Kamailio(dir, port, child)
    const deadline = Date.now() + 10_000
    for (;;) {
      if (child.exitCode !== null) throw new Error(`kamailio exited with ${child.exitCode}\n${proxy.output}`)
      if (/INFO: <core> \[main\.c:\d+\]: main\(\): processes \(at least\)|init_tcp_children|tcp_main_loop|ALERT/.test(proxy.output) || /Listening on/.test(proxy.output)) break
      if (Date.now() > deadline) break
      await sleep(100)
    }
    // Its children start after the listening banner: give them a moment.
    await sleep(500)
    return proxy
  }

  async stop(): Promise<void> {
    const pid = this.child.pid
    if (pid !== undefined && this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve))
      try {
        process.kill(-pid, 'SIGTERM')
      } catch {
        // Already gone.
      }
      await Promise.race([exited, sleep(3000)])
      if (this.child.exitCode === null) {
        try {
          process.kill(-pid, 'SIGKILL')
        } catch {
          // Already gone.
        }
      }
    }
    rmSync(this.dir, {recursive: true, force: true})
  }
}
