// Real SIP peers for gateway integration tests: SIPp (Debian's sip-tester)
// run with scenarios written here, bounded in time, killed on cleanup.
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {freePort} from './cli.js'

export const PCAP = '/usr/share/sip-tester/g711a.pcap'

const sdp = `v=0
o=user1 53655765 2353687637 IN IP4 [media_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 0 101
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
`

const dialogHeaders = (cseq: string) => `Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:+15550001111@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: ${cseq}
Contact: <sip:sipp@[local_ip]:[local_port]>
Max-Forwards: 70`

const invite = (cseq = 1, attributes = 'retrans="500"', branchOffset = '') => `<send ${attributes}><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
${dialogHeaders(`${cseq} INVITE`).replace('branch=[branch]', `branch=[branch${branchOffset}]`)}
Content-Type: application/sdp
Content-Length: [len]

${sdp}]]></send>`

const ack = (cseq: number, branch = '[branch]') => `<send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
${dialogHeaders(`${cseq} ACK`).replace('branch=[branch]', `branch=${branch}`)}
Content-Length: 0

]]></send>`

const bye = (cseq: number) => `<send retrans="500"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
${dialogHeaders(`${cseq} BYE`)}
Content-Length: 0

]]></send>
<recv response="200" crlf="true"/>`

const answerBye = `<recv request="BYE"/>
<send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>`

const provisional = `<recv response="100" optional="true"/>
<recv response="180" optional="true"/>
<recv response="183" optional="true"/>`

const scenario = (name: string, body: string) => `<?xml version="1.0" encoding="UTF-8" ?>
<scenario name="${name}">
${body}
</scenario>
`

/** Calls, plays the PCMA pcap (7 s of audio) `plays` times, hangs up. */
export const uacWithAudio = (plays = 1) =>
  scenario('uac with audio', `${invite()}
${provisional}
<recv response="200" rtd="true"/>
${ack(1)}
${Array.from({length: plays}, () => `<nop><action><exec play_pcap_audio="${PCAP}"/></action></nop>
<pause milliseconds="7100"/>`).join('\n')}
${bye(2)}`)

/**
 * A caller scenario (uacWithAudio unless given) through a record-routing
 * proxy: the route set of the 200 is kept (rrs) and the ACK and BYE go to its
 * Contact along that route, as RFC 3261 §12.2.1.1 says.
 */
export const uacThroughProxy = (base: string = uacWithAudio()): string =>
  base
    .replace('<recv response="200" rtd="true"/>', '<recv response="200" rtd="true" rrs="true"/>')
    .replace(/(ACK|BYE) sip:\[service\]@\[remote_ip\]:\[remote_port\] SIP\/2\.0/g, '$1 [next_url] SIP/2.0\n[routes]')

/** An offer like the default one with other audio payloads: `formats` on the m= line, `attributes` after it (a=rtpmap, a=fmtp). */
export const sdpOffering = (formats: string, attributes: readonly string[]): string =>
  `${sdp.slice(0, sdp.indexOf('m=audio'))}m=audio [media_port] RTP/AVP ${formats}\n${attributes.map((line) => `${line}\n`).join('')}`

/** Calls with `offer`, plays `pcap` (its RTP as it is: payload types, sizes) from the media port, waits `playMs`, hangs up. */
export const uacOfferingAndPlaying = (offer: string, pcap: string, playMs: number) =>
  scenario('uac offering and playing', `${invite().replace(sdp, offer)}
${provisional}
<recv response="200" rtd="true"/>
${ack(1)}
<nop><action><exec play_pcap_audio="${pcap}"/></action></nop>
<pause milliseconds="${playMs}"/>
${bye(2)}`)

/** Calls, holds `holdMs` without sending media, hangs up: many short calls for CDR tests. */
export const uacShortCall = (holdMs = 300) =>
  scenario('uac short call', `${invite()}
${provisional}
<recv response="200" rtd="true"/>
${ack(1)}
<pause milliseconds="${holdMs}"/>
${bye(2)}`)

/** Like uacShortCall, with extra header lines (e.g. `traceparent: 00-…-01`) on the INVITE. */
export const uacShortCallWithHeaders = (headers: string, holdMs = 300) =>
  uacShortCall(holdMs).replace('Content-Type: application/sdp', `${headers}\nContent-Type: application/sdp`)

/** Calls and waits for the gateway to hang up. */
export const uacAwaitingBye = () => scenario('uac awaiting bye', `${invite()}
${provisional}
<recv response="200"/>
${ack(1)}
<nop><action><exec play_pcap_audio="${PCAP}"/></action></nop>
${answerBye}`)

/** Calls and expects the call to be refused with `status` (ACKing it). */
export const uacExpectingRefusal = (status: number) => scenario(`uac expecting ${status}`, `${invite()}
${provisional}
<recv response="${status}"/>
${ack(1, '[branch-5]')}`)

/** An offer of audio in G.729 only: no codec in common with the gateway. */
export const G729_ONLY_SDP = sdp.replace('RTP/AVP 8 0 101', 'RTP/AVP 18').replace(/a=rtpmap:8.*\n|a=rtpmap:0.*\n|a=rtpmap:101.*\n|a=fmtp:101.*\n/g, '') + 'a=rtpmap:18 G729/8000\n'

/** Calls with `offer` as the INVITE's body (none when empty) and expects the call to be refused with `status` (ACKing it). */
export const uacOfferingExpectingRefusal = (offer: string, status: number) => scenario(`uac offering, expecting ${status}`, `<send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
${dialogHeaders('1 INVITE')}
${offer === '' ? 'Content-Length: 0\n\n' : `Content-Type: application/sdp
Content-Length: [len]

${offer}`}]]></send>
${provisional}
<recv response="${status}"/>
${ack(1, '[branch-5]')}`)

/** Calls, is challenged, answers the challenge with [authentication], talks, hangs up. */
export const uacWithDigest = () => scenario('uac with digest', `${invite()}
<recv response="100" optional="true"/>
<recv response="401" auth="true"/>
${ack(1, '[branch-3]')}
<send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
${dialogHeaders('2 INVITE').replace('[peer_tag_param]', '')}
[authentication username=alice password=wonderland]
Content-Type: application/sdp
Content-Length: [len]

${sdp}]]></send>
${provisional}
<recv response="200"/>
${ack(2)}
<pause milliseconds="500"/>
${bye(3)}`)

/** Calls, is challenged, answers the challenge with a wrong password, and is challenged again (ACKing both). */
export const uacWithWrongDigest = () => scenario('uac with a wrong password', `${invite()}
<recv response="100" optional="true"/>
<recv response="401" auth="true"/>
${ack(1, '[branch-3]')}
<send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
${dialogHeaders('2 INVITE').replace('[peer_tag_param]', '')}
[authentication username=alice password=not-the-password]
Content-Type: application/sdp
Content-Length: [len]

${sdp}]]></send>
<recv response="100" optional="true"/>
<recv response="401"/>
${ack(2, '[branch-3]')}`)

/** Calls, hears it ring, cancels. */
export const uacCancelling = () => scenario('uac cancelling', `${invite()}
<recv response="100" optional="true"/>
<recv response="180"/>
<pause milliseconds="500"/>
<send><![CDATA[
CANCEL sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-4]
From: sipp <sip:+15550001111@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 CANCEL
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200"/>
<recv response="487"/>
${ack(1, '[branch-7]')}`)

const uasReceiveInvite = `<recv request="INVITE" crlf="true"/>`
const uasSend = (status: number, reason: string, withSdp = false) => `<send${status >= 200 && status < 300 ? ' retrans="500"' : ''}><![CDATA[
SIP/2.0 ${status} ${reason}
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:callee@[local_ip]:[local_port]>
${withSdp ? `Content-Type: application/sdp
Content-Length: [len]

${sdp}` : `Content-Length: 0
`}
]]></send>`

/** A callee that answers, echoes RTP (run with -rtp_echo) and waits for BYE. */
export const uasAnswering = () => scenario('uas answering', `${uasReceiveInvite}
${uasSend(180, 'Ringing')}
${uasSend(200, 'OK', true)}
<recv request="ACK"/>
${answerBye}`)

/** A callee that refuses the call with a final status (its ACK is the end). */
export const uasRejecting = (status: number, reason: string) => scenario(`uas rejecting with ${status}`, `${uasReceiveInvite}
${uasSend(status, reason)}
<recv request="ACK"/>`)

/** A callee that is busy. */
export const uasBusy = () => uasRejecting(486, 'Busy Here')

/**
 * A registrar that answers every REGISTER with one final response: `statusLine` (`401 Unauthorized`) and extra
 * header lines. A registration keeps its Call-ID, so one SIPp call takes them all, looping until stopped.
 */
export const uasAnsweringRegister = (statusLine: string, headers: readonly string[] = []) => scenario(`uas answering REGISTER with ${statusLine}`, `<label id="1"/>
<recv request="REGISTER"/>
<send next="1"><![CDATA[
SIP/2.0 ${statusLine}
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
${headers.map((line) => `${line}\n`).join('')}Content-Length: 0

]]></send>`)

/** A SIP peer answering each OPTIONS (a keepalive probe) with `status`; run it with `calls` as high as the probes it should answer. */
export const uasAnsweringOptions = (status = 200, reason = 'OK') => scenario(`uas answering OPTIONS with ${status}`, `<recv request="OPTIONS"/>
<send><![CDATA[
SIP/2.0 ${status} ${reason}
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>`)

/** A callee that is out of service: 503 Service Unavailable (RFC 3263 §4.3: the caller tries its next target). */
export const uasUnavailable = () => uasRejecting(503, 'Service Unavailable')

/** A callee that sends early media (183 with SDP), then refuses with 503. */
export const uasEarlyMediaThenUnavailable = () => scenario('uas early media then 503', `${uasReceiveInvite}
${uasSend(183, 'Session Progress', true)}
${uasSend(503, 'Service Unavailable')}
<recv request="ACK"/>`)

/** A callee that sends early media (183 with SDP), answers, and waits for BYE. */
export const uasEarlyMediaThenAnswering = () => scenario('uas early media then answering', `${uasReceiveInvite}
${uasSend(183, 'Session Progress', true)}
${uasSend(200, 'OK', true)}
<recv request="ACK"/>
${answerBye}`)

/** A callee that rings until it is cancelled; the 487 answers the INVITE, so it carries the INVITE's CSeq. */
export const uasRingingUntilCancel = () => scenario('uas ringing', `<recv request="INVITE" crlf="true">
  <action><ereg regexp=".*" search_in="hdr" header="CSeq:" assign_to="inviteCseq"/></action>
</recv>
${uasSend(180, 'Ringing')}
<recv request="CANCEL"/>
<send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
${uasSend(487, 'Request Terminated').replace('[last_CSeq:]', 'CSeq:[$inviteCseq]')}
<recv request="ACK"/>`)

export interface SippRun {
  readonly done: Promise<{code: number; output: string}>
  readonly process: ChildProcess
  stop(): void
}

/**
 * Runs SIPp with a scenario. As a client, `target` is the gateway's SIP address;
 * as a server, `port` is where it listens. Bounded by -timeout.
 */
export const runSipp = async (options: {
  scenarioXml: string
  target?: string
  port?: number
  service?: string
  localIp?: string
  calls?: number
  transport?: 'u1' | 't1'
  extraArgs?: readonly string[]
  timeoutS?: number
}): Promise<SippRun> => {
  const attempt = async (): Promise<{child: ChildProcess; done: Promise<{code: number; output: string}>}> => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-sipp-'))
    const file = join(dir, 'scenario.xml')
    writeFileSync(file, options.scenarioXml)
    const localIp = options.localIp ?? '127.0.0.1'
    const port = options.port ?? (await freePort())
    const mediaPort = await freePort()
    const args = [
      ...(options.target ? [options.target] : []),
      '-sf', file,
      '-i', localIp,
      '-mi', localIp,
      '-p', String(port),
      '-mp', String(mediaPort + (mediaPort % 2)),
      '-m', String(options.calls ?? 1),
      '-t', options.transport ?? 'u1',
      '-timeout', `${options.timeoutS ?? 30}s`,
      '-timeout_error',
      '-nostdin',
      '-trace_err',
      '-error_file', join(dir, 'errors.log'),
      ...(options.service ? ['-s', options.service] : []),
      ...(options.extraArgs ?? []),
    ]
    const child = spawn('sipp', args, {cwd: dir, stdio: ['ignore', 'pipe', 'pipe']})
    // A server must be listening before the test sends it anything.
    if (!options.target) await new Promise((resolve) => setTimeout(resolve, 500))
    let output = ''
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const done = new Promise<{code: number; output: string}>((resolve) =>
      child.once('exit', (code) => {
        let errors = ''
        try {
          errors = readFileSync(join(dir, 'errors.log'), 'utf8')
        } catch {
          // No error file: SIPp saw no errors.
        }
        rmSync(dir, {recursive: true, force: true})
        resolve({code: code ?? 1, output: `${output.slice(-3000)}\n${errors.slice(-3000)}`})
      }),
    )
    return {child, done}
  }
  // A port found free (by TCP) can be taken for UDP, or by another test, before SIPp binds it: SIPp
  // then exits at once having sent nothing, and a run on fresh ports is the same run.
  let current = await attempt()
  const done = (async () => {
    for (let retries = 0; ; retries++) {
      const result = await current.done
      if (retries >= 3 || options.port !== undefined || !/Unable to bind (main|RTP) socket|Address already in use/.test(result.output)) return result
      current = await attempt()
    }
  })()
  return {done, get process() { return current.child }, stop: () => current.child.kill('SIGKILL')}
}
