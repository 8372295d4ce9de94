// Kamailio (Debian's 5.6 with kamailio-tls-modules) as a SIP proxy in front
// of the gateway: it takes SIP over UDP and relays every new request to one
// next hop over TLS, record-routing itself so the whole dialog passes
// through it (double Record-Route: UDP on one side, TLS on the other). Its
// tls module verifies the next hop's certificate against a CA and presents a
// client certificate. Run in the foreground from a private folder; stop()
// ends the process group it started, and nothing else.
import {spawn, type ChildProcess} from 'node:child_process'
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export class Kamailio {
  private output = ''

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
    writeFileSync(
      join(dir, 'tls.cfg'),
      `[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
certificate = ${options.cert}
private_key = ${options.key}
ca_list = ${options.ca}

[client:default]
method = TLSv1.2+
verify_certificate = yes
require_certificate = yes
certificate = ${options.cert}
private_key = ${options.key}
ca_list = ${options.ca}
`,
    )
    writeFileSync(
      join(dir, 'kamailio.cfg'),
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
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
    sl_send_reply("404", "Not here");
    exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
  record_route();
  $du = "sip:${options.nextHop};transport=tls";
  if (!t_relay()) { sl_reply_error(); }
}
`,
    )
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
