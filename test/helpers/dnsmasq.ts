// A real DNS server for tests: Debian's dnsmasq on a free loopback port,
// authoritative for the `test` domain (names it does not hold are NXDOMAIN),
// with the records a test gives: A (host-record), SRV (srv-host), NAPTR
// (naptr-record), plus an extra hosts file that SIGHUP re-reads (records that
// change during a test). No upstream servers, no /etc/hosts, no daemon mode.
import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import {promises as dns} from 'node:dns'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir, userInfo} from 'node:os'
import {join} from 'node:path'
import {freePort} from './cli.js'
import {waitFor} from './gateway.js'

export interface DnsRecords {
  /** `name` → IPv4/IPv6 addresses. */
  readonly hosts?: Readonly<Record<string, readonly string[]>>
  /** SRV records: `_sip._udp.x.test`, target, port, priority, weight. */
  readonly srv?: ReadonlyArray<{name: string; target: string; port: number; priority?: number; weight?: number}>
  /** NAPTR records (replacement: the SRV name). */
  readonly naptr?: ReadonlyArray<{name: string; order: number; preference: number; service: string; replacement: string; flags?: string}>
  /** Hosts-file entries (`address name`), re-read on `reloadHosts`. */
  readonly hostsFile?: ReadonlyArray<readonly [address: string, name: string]>
  /** The TTL of every local answer, seconds (dnsmasq's default is 0). */
  readonly ttlS?: number
}

/** Where Debian puts dnsmasq (/usr/sbin may not be on a test runner's PATH). */
const dnsmasqPath = (): string => {
  try {
    return execFileSync('sh', ['-c', 'command -v dnsmasq'], {encoding: 'utf8'}).trim() || '/usr/sbin/dnsmasq'
  } catch {
    return '/usr/sbin/dnsmasq'
  }
}

export class Dnsmasq {
  private child: ChildProcess | undefined
  private readonly dir = mkdtempSync(join(tmpdir(), 'cc-dns-'))
  port = 0
  output = ''

  constructor(private readonly records: DnsRecords) {}

  /** `127.0.0.1:port`, as sip.dns.servers takes it. */
  get server(): string {
    return `127.0.0.1:${this.port}`
  }

  async start(): Promise<void> {
    const records = this.records
    this.writeHostsFile(records.hostsFile ?? [])
    const args = (port: number) => [
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      '--no-poll',
      '--bind-interfaces',
      '--listen-address=127.0.0.1',
      `--port=${port}`,
      '--pid-file=',
      `--user=${userInfo().username}`,
      '--local=/test/',
      `--local-ttl=${records.ttlS ?? 60}`,
      `--addn-hosts=${join(this.dir, 'hosts')}`,
      '--log-queries',
      '--log-facility=-',
      '--host-record=ready.test,127.0.0.1',
      ...Object.entries(records.hosts ?? {}).map(([name, addresses]) => `--host-record=${name},${addresses.join(',')}`),
      ...(records.srv ?? []).map((record) => `--srv-host=${record.name},${record.target},${record.port},${record.priority ?? 0},${record.weight ?? 0}`),
      ...(records.naptr ?? []).map((record) => `--naptr-record=${record.name},${record.order},${record.preference},${record.flags ?? 's'},${record.service},,${record.replacement}`),
    ]
    // A port found free by TCP can be taken before dnsmasq binds it: try another.
    for (let attempt = 0; ; attempt++) {
      this.port = await freePort()
      this.output = ''
      const child = spawn(dnsmasqPath(), args(this.port), {stdio: ['ignore', 'pipe', 'pipe']})
      this.child = child
      child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()))
      child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()))
      const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1)))
      const resolver = new dns.Resolver({timeout: 200, tries: 1})
      resolver.setServers([this.server])
      const ready = waitFor('dnsmasq to answer', async () => {
        try {
          return (await resolver.resolve4('ready.test')).length > 0 ? true : undefined
        } catch {
          return undefined
        }
      }, 10_000)
      const first = await Promise.race([ready.then(() => 'ready' as const), exited.then(() => 'exited' as const)])
      if (first === 'ready') return
      if (attempt >= 3 || !/Address already in use|failed to create listening socket/i.test(this.output)) throw new Error(`dnsmasq did not start:\n${this.output}`)
    }
  }

  /** Rewrites the extra hosts file and makes dnsmasq re-read it (SIGHUP). */
  async reloadHosts(entries: ReadonlyArray<readonly [address: string, name: string]>): Promise<void> {
    this.writeHostsFile(entries)
    const before = this.output.length
    this.child?.kill('SIGHUP')
    await waitFor('dnsmasq to re-read its hosts file', () => (this.output.slice(before).includes('read ') ? true : undefined))
  }

  /** The queries dnsmasq logged, as `TYPE name`. */
  queries(): string[] {
    return [...this.output.matchAll(/query\[(\w+)\] (\S+) from/g)].map((match) => `${match[1]} ${match[2]}`)
  }

  private writeHostsFile(entries: ReadonlyArray<readonly [string, string]>): void {
    writeFileSync(join(this.dir, 'hosts'), entries.map(([address, name]) => `${address} ${name}\n`).join(''))
  }

  async stop(): Promise<void> {
    const child = this.child
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
    rmSync(this.dir, {recursive: true, force: true})
  }
}
