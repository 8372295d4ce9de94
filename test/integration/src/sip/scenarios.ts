// SIPp XML scenarios for the integration tests. Message text follows SIPp's
// conventions: [last_*] copies headers of the last message received,
// [branch-N] reuses the branch of the message N steps back.

/** SIPp refuses variables that are assigned and never used: the checks' variables are declared used. */
const scenario = (name: string, body: string): string => {
  const checked = [...body.matchAll(/assign_to="(\w+)"/g)].map((match) => match[1] as string).filter((variable) => !body.includes(`[$${variable}]`))
  const reference = checked.length === 0 ? '' : `  <Reference variables="${checked.join(',')}"/>\n`
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="${name}">
${body}
${reference}</scenario>
`
}

const SDP = `v=0
o=sipp 53655765 [sdp_version] IN IP4 [local_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
a=[sdp_direction]`

const sdp = (version: number, direction: string): string => SDP.replace('[sdp_version]', String(version)).replace('[sdp_direction]', direction)

const request = (method: string, options: {cseq: number; branch?: string; toTag?: boolean; body?: string; contentType?: string; extra?: string[]; uri?: string}): string => `    <![CDATA[
      ${method} ${options.uri ?? 'sip:[service]@[remote_ip]:[remote_port]'} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=${options.branch ?? '[branch]'}
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>${options.toTag === true ? '[peer_tag_param]' : ''}
      Call-ID: [call_id]
      CSeq: ${options.cseq} ${method}
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
${(options.extra ?? []).map((line) => `      ${line}\n`).join('')}${options.body === undefined ? '      Content-Length: 0' : `      Content-Type: ${options.contentType ?? 'application/sdp'}\n      Content-Length: [len]\n\n${options.body}`}
    ]]>`

const ereg = (where: 'body' | 'msg' | string, regexp: string, variable: string): string => {
  // An XML attribute: a `<` in a regexp must be written as an entity.
  const pattern = regexp.replace(/</g, '&lt;')
  return where === 'body' || where === 'msg'
    ? `<ereg regexp="${pattern}" search_in="${where}" check_it="true" assign_to="${variable}"/>`
    : `<ereg regexp="${pattern}" search_in="hdr" header="${where}" check_it="true" assign_to="${variable}"/>`
}

/** Checks a header or the body of the message just received against a regular expression; the call fails otherwise. */
const check = (where: 'body' | 'msg' | string, regexp: string, variable: string): string => `<action>${ereg(where, regexp, variable)}</action>`

/** Several checks of one message: SIPp takes one <action> per message, so they share it. */
const checks = (...items: Array<[where: 'body' | string, regexp: string, variable: string]>): string => `<action>${items.map((item) => ereg(...item)).join('')}</action>`

/** UAC over any transport: INVITE, optional 100/180, 200 (its Contact checked against `contact`), ACK, BYE. */
export const uacCall = (contact: string): string => scenario('uac call', `
  <send retrans="500">
${request('INVITE', {cseq: 1, body: sdp(1, 'sendrecv')})}
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true">
    ${check('Contact:', contact, 'contact')}
  </recv>
  <send>
${request('ACK', {cseq: 1, toTag: true})}
  </send>
  <pause milliseconds="100"/>
  <send retrans="500">
${request('BYE', {cseq: 2, toTag: true})}
  </send>
  <recv response="200"/>
`)

/** UAC that cancels after the ringing: CANCEL (same branch), 200 to it, 487 to the INVITE, ACK (same branch). */
export const uacCancel = scenario('uac cancel', `
  <send retrans="500">
${request('INVITE', {cseq: 1, body: sdp(1, 'sendrecv')})}
  </send>
  <recv response="100" optional="true"/>
  <recv response="180"/>
  <send retrans="500">
${request('CANCEL', {cseq: 1, branch: '[branch-3]', extra: ['Reason: Q.850;cause=31']})}
  </send>
  <recv response="200"/>
  <recv response="487"/>
  <send>
${request('ACK', {cseq: 1, branch: '[branch-6]', toTag: true})}
  </send>
`)

/** UAC answering a Digest challenge: INVITE, 401, ACK, INVITE with credentials, 200, ACK, BYE. */
export const uacAuth = (username: string, password: string): string => scenario('uac auth', `
  <send retrans="500">
${request('INVITE', {cseq: 1, body: sdp(1, 'sendrecv')})}
  </send>
  <recv response="100" optional="true"/>
  <recv response="401" auth="true"/>
  <send>
${request('ACK', {cseq: 1, branch: '[branch-3]', toTag: true})}
  </send>
  <send retrans="500">
${request('INVITE', {cseq: 2, body: sdp(1, 'sendrecv'), extra: [`[authentication username=${username} password=${password}]`]})}
  </send>
  <recv response="100" optional="true"/>
  <recv response="200"/>
  <send>
${request('ACK', {cseq: 2, toTag: true})}
  </send>
  <send retrans="500">
${request('BYE', {cseq: 3, toTag: true})}
  </send>
  <recv response="200"/>
`)

/** UAC that holds and resumes with re-INVITEs and checks our answers (recvonly, then sendrecv). */
export const uacHold = scenario('uac hold', `
  <send retrans="500">
${request('INVITE', {cseq: 1, body: sdp(1, 'sendrecv')})}
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200">
    <action><ereg regexp="sip:[^>]*" search_in="hdr" header="Contact:" check_it="true" assign_to="target"/></action>
  </recv>
  <send>
${request('ACK', {cseq: 1, toTag: true, uri: '[$target]'})}
  </send>
  <send retrans="500">
${request('INVITE', {cseq: 2, toTag: true, uri: '[$target]', body: sdp(2, 'sendonly')})}
  </send>
  <recv response="200">
    ${check('body', 'a=recvonly', 'held')}
  </recv>
  <send>
${request('ACK', {cseq: 2, toTag: true, uri: '[$target]'})}
  </send>
  <send retrans="500">
${request('INVITE', {cseq: 3, toTag: true, uri: '[$target]', body: sdp(3, 'sendrecv')})}
  </send>
  <recv response="200">
    ${check('body', 'a=sendrecv', 'resumed')}
  </recv>
  <send>
${request('ACK', {cseq: 3, toTag: true, uri: '[$target]'})}
  </send>
  <send retrans="500">
${request('BYE', {cseq: 4, toTag: true, uri: '[$target]'})}
  </send>
  <recv response="200"/>
`)

const response = (status: string, options: {toTag?: boolean; extra?: string[]; body?: string; cseq?: string} = {}): string => `    <![CDATA[
      SIP/2.0 ${status}
      [last_Via:]
      [last_From:]
      [last_To:]${options.toTag === false ? '' : ';tag=[pid]SIPpTag01[call_number]'}
      [last_Call-ID:]
      ${options.cseq ?? '[last_CSeq:]'}
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
${(options.extra ?? []).map((line) => `      ${line}\n`).join('')}${options.body === undefined ? '      Content-Length: 0' : `      Content-Type: application/sdp\n      Content-Length: [len]\n\n${options.body}`}
    ]]>`

/** UAS rejecting the INVITE with `status`, optionally with extra headers (a Reason), then taking the ACK. */
export const uasReject = (status: string, extra: string[] = []): string => scenario('uas reject', `
  <recv request="INVITE"/>
  <send>
${response(status, {extra})}
  </send>
  <recv request="ACK"/>
`)

/** UAS that only rings, then takes the CANCEL: 200 to it, 487 to the INVITE, ACK. */
export const uasRingUntilCancel = scenario('uas ring until cancel', `
  <recv request="INVITE"/>
  <send>
${response('180 Ringing')}
  </send>
  <recv request="CANCEL">
    <action><ereg regexp="[0-9]+" search_in="hdr" header="CSeq:" assign_to="cseq"/></action>
  </recv>
  <send>
${response('200 OK', {toTag: true})}
  </send>
  <send>
${response('487 Request Terminated', {cseq: 'CSeq: [$cseq] INVITE'})}
  </send>
  <recv request="ACK"/>
`)

/** UAS requiring Digest: 401 challenge, then the re-sent INVITE must carry valid credentials (else 403). */
export const uasChallenge = (username: string, password: string): string => scenario('uas challenge', `
  <recv request="INVITE"/>
  <send>
${response('401 Unauthorized', {extra: ['WWW-Authenticate: Digest realm="sipp.test", nonce="4f6d2a1b9c3e", qop="auth", algorithm=MD5']})}
  </send>
  <recv request="ACK"/>
  <recv request="INVITE">
    <action><verifyauth assign_to="authvalid" username="${username}" password="${password}"/></action>
  </recv>
  <nop hide="true" test="authvalid" next="valid"/>
  <send next="refused">
${response('403 Forbidden')}
  </send>
  <label id="valid"/>
  <send retrans="500">
${response('200 OK', {body: sdp(1, 'sendrecv')})}
  </send>
  <recv request="ACK"/>
  <recv request="BYE"/>
  <send>
${response('200 OK', {toTag: false})}
  </send>
  <label id="refused"/>
`)

// RFC 4028, RFC 3311 and RFC 3262 (test/integration/src/sip/*-sipp.test.ts).

/**
 * UAC asking for a session interval below the minimum: 422 with `Min-SE: minSe`,
 * ACK, then the INVITE again with `Session-Expires: minSe` (§7.3), answered
 * with that interval and the refresher left to the caller (Require: timer), ACK, BYE.
 */
export const uacTooSmallThenRetry = (asked: number, minSe: number): string => scenario('uac 422 then retry', `
  <send retrans="500">
${request('INVITE', {cseq: 1, body: sdp(1, 'sendrecv'), extra: [`Session-Expires: ${asked}`, 'Supported: timer']})}
  </send>
  <recv response="100" optional="true"/>
  <recv response="422">
    ${check('Min-SE:', `^ *${minSe} *$`, 'minse')}
  </recv>
  <send>
${request('ACK', {cseq: 1, branch: '[branch-3]', toTag: true})}
  </send>
  <send retrans="500">
${request('INVITE', {cseq: 2, body: sdp(1, 'sendrecv'), extra: [`Session-Expires: ${minSe}`, `Min-SE: ${minSe}`, 'Supported: timer']})}
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200">
    ${checks(['Session-Expires:', `^ *${minSe};refresher=uac *$`, 'expires'], ['Require:', 'timer', 'required'])}
  </recv>
  <send>
${request('ACK', {cseq: 2, toTag: true})}
  </send>
  <send retrans="500">
${request('BYE', {cseq: 3, toTag: true})}
  </send>
  <recv response="200"/>
`)

/** UAC that takes the refresher role (refresher=uac) and never refreshes: it must get our BYE with Q.850 cause 102 (RFC 4028 §10). */
export const uacNeverRefreshing = (interval: number): string => scenario('uac never refreshing', `
  <send retrans="500">
${request('INVITE', {cseq: 1, body: sdp(1, 'sendrecv'), extra: [`Session-Expires: ${interval};refresher=uac`, 'Supported: timer']})}
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200">
    ${check('Session-Expires:', `^ *${interval};refresher=uac *$`, 'expires')}
  </recv>
  <send>
${request('ACK', {cseq: 1, toTag: true})}
  </send>
  <recv request="BYE" timeout="${interval * 1000 + 5000}">
    ${check('Reason:', 'Q\\.850;cause=102', 'cause')}
  </recv>
  <send>
${response('200 OK', {toTag: false})}
  </send>
`)

/**
 * UAC that leaves refreshing to us (refresher=uas) and waits for our refresh:
 * an UPDATE without SDP when it allows UPDATE, else a re-INVITE with our SDP
 * unchanged (the o= line of the re-INVITE must be the one of our 2xx, else the
 * call fails on a message that never comes). It answers 200 keeping us the
 * refresher, then hangs up.
 */
export const uacAwaitingRefresh = (interval: number, allowUpdate: boolean): string => scenario('uac awaiting our refresh', `
  <send retrans="500">
${request('INVITE', {cseq: 1, body: sdp(1, 'sendrecv'), extra: [`Session-Expires: ${interval};refresher=uas`, 'Supported: timer', ...(allowUpdate ? ['Allow: INVITE, ACK, CANCEL, BYE, UPDATE'] : ['Allow: INVITE, ACK, CANCEL, BYE'])]})}
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200">
    ${checks(['Session-Expires:', `^ *${interval};refresher=uas *$`, 'expires'], ['body', 'o=[^ ]+ [0-9]+ [0-9]+', 'answerOrigin'])}
  </recv>
  <send>
${request('ACK', {cseq: 1, toTag: true})}
  </send>
${allowUpdate ? `  <recv request="UPDATE" timeout="${interval * 1000}">
    ${checks(['Session-Expires:', `^ *${interval};refresher=uac *$`, 'refresh'], ['Content-Length:', '^ *0 *$', 'nobody'])}
  </recv>
  <send>
${response('200 OK', {toTag: false, extra: [`Session-Expires: ${interval};refresher=uac`, 'Require: timer']})}
  </send>` : `  <recv request="INVITE" timeout="${interval * 1000}">
    ${checks(['Session-Expires:', `^ *${interval};refresher=uac *$`, 'refresh'], ['body', 'o=[^ ]+ [0-9]+ [0-9]+', 'refreshOrigin'])}
  </recv>
  <nop><action><strcmp assign_to="originDiff" variable="answerOrigin" variable2="refreshOrigin"/><test assign_to="sameOrigin" variable="originDiff" compare="equal" value="0"/></action></nop>
  <nop test="sameOrigin" next="sameversion"/>
  <recv request="NEVER" timeout="10"/>
  <label id="sameversion"/>
  <send retrans="500">
${response('200 OK', {toTag: false, extra: [`Session-Expires: ${interval};refresher=uac`, 'Require: timer'], body: sdp(1, 'sendrecv')})}
  </send>
  <recv request="ACK"/>`}
  <send retrans="500">
${request('BYE', {cseq: 2, toTag: true})}
  </send>
  <recv response="200"/>
`)

/** UAC that puts the call on hold with an UPDATE offer mid-call (RFC 3311) and checks our answer (recvonly), then hangs up. */
export const uacUpdateHold = scenario('uac update hold', `
  <send retrans="500">
${request('INVITE', {cseq: 1, body: sdp(1, 'sendrecv')})}
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200"/>
  <send>
${request('ACK', {cseq: 1, toTag: true})}
  </send>
  <send retrans="500">
${request('UPDATE', {cseq: 2, toTag: true, body: sdp(2, 'sendonly')})}
  </send>
  <recv response="200">
    ${checks(['body', 'a=recvonly', 'held'], ['CSeq:', 'UPDATE', 'method'])}
  </recv>
  <send retrans="500">
${request('UPDATE', {cseq: 3, toTag: true})}
  </send>
  <recv response="200">
    ${check('Content-Length:', '^ *0 *$', 'nobody')}
  </recv>
  <send retrans="500">
${request('BYE', {cseq: 4, toTag: true})}
  </send>
  <recv response="200"/>
`)

/**
 * UAC requiring 100rel: the 183 must come reliably (Require: 100rel, RSeq).
 * With `withholdMs` SIPp waits that long before its PRACK (the 183 is
 * retransmitted meanwhile). Then 200 to the PRACK, the 2xx, ACK, BYE.
 */
export const uacRequiring100rel = (withholdMs: number): string => scenario('uac requiring 100rel', `
  <send retrans="500">
${request('INVITE', {cseq: 1, body: sdp(1, 'sendrecv'), extra: ['Require: 100rel', 'Supported: 100rel']})}
  </send>
  <recv response="100" optional="true"/>
  <recv response="183">
    ${checks(['Require:', '100rel', 'reliable'], ['RSeq:', '[0-9]+', 'rseq'])}
  </recv>
${withholdMs > 0 ? `  <pause milliseconds="${withholdMs}"/>` : ''}
  <send retrans="500">
${request('PRACK', {cseq: 2, toTag: true, extra: ['RAck: [$rseq] 1 INVITE']})}
  </send>
  <recv response="200">
    ${check('CSeq:', 'PRACK', 'prackok')}
  </recv>
  <recv response="200">
    ${check('CSeq:', 'INVITE', 'inviteok')}
  </recv>
  <send>
${request('ACK', {cseq: 1, toTag: true})}
  </send>
  <send retrans="500">
${request('BYE', {cseq: 3, toTag: true})}
  </send>
  <recv response="200"/>
`)

/** UAS answering with a reliable 183 (with SDP): it waits for our PRACK, answers it 200, then sends the 200 without SDP, takes the ACK and our BYE. */
export const uasReliable183 = scenario('uas reliable 183', `
  <recv request="INVITE">
    ${checks(['Supported:', '100rel', 'supports'], ['Via:', '.*', 'inviteVia'])}
  </recv>
  <send>
${response('183 Session Progress', {extra: ['Require: 100rel', 'RSeq: 4711'], body: sdp(1, 'sendrecv')})}
  </send>
  <recv request="PRACK">
    ${check('RAck:', '^ *4711 1 INVITE *$', 'rack')}
  </recv>
  <send>
${response('200 OK', {toTag: false})}
  </send>
  <send retrans="500">
${response('200 OK', {toTag: false, cseq: 'CSeq: 1 INVITE'}).replace('[last_Via:]', 'Via:[$inviteVia]')}
  </send>
  <recv request="ACK"/>
  <recv request="BYE"/>
  <send>
${response('200 OK', {toTag: false})}
  </send>
`)

/**
 * UAC requiring 100rel from a gateway that rings (a reliable 180 without
 * SDP) and answers at once: the PRACK's 200 and the INVITE's 2xx may cross,
 * so SIPp takes the two 200s in either order, then ACKs and hangs up.
 */
export const uacRequiring100relRinging = scenario('uac requiring 100rel, ringing', `
  <send retrans="500">
${request('INVITE', {cseq: 1, body: sdp(1, 'sendrecv'), extra: ['Require: 100rel', 'Supported: 100rel']})}
  </send>
  <recv response="100" optional="true"/>
  <recv response="180">
    ${checks(['Require:', '100rel', 'reliable'], ['RSeq:', '[0-9]+', 'rseq'])}
  </recv>
  <send retrans="500">
${request('PRACK', {cseq: 2, toTag: true, extra: ['RAck: [$rseq] 1 INVITE']})}
  </send>
  <recv response="200"/>
  <recv response="200"/>
  <send>
${request('ACK', {cseq: 1, toTag: true})}
  </send>
  <pause milliseconds="200"/>
  <send retrans="500">
${request('BYE', {cseq: 3, toTag: true})}
  </send>
  <recv response="200"/>
`)

// Call transfer: REFER and NOTIFY with message/sipfrag (RFC 3515), both ways
// (test/integration/daemon/sip/transfer.test.ts).

/** UAC that calls and is answered (the start of the transfer scenarios). */
const callAnswered = `
  <send retrans="500">
${request('INVITE', {cseq: 1, body: sdp(1, 'sendrecv')})}
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200"/>
  <send>
${request('ACK', {cseq: 1, toTag: true})}
  </send>`

/** A NOTIFY of ours (the UAC's) for the REFER whose CSeq number is in [$referId]: a sipfrag status line. */
const notify = (cseq: number, frag: string, state: string): string => request('NOTIFY', {
  cseq,
  toTag: true,
  extra: ['Event: refer;id=[$referId]', `Subscription-State: ${state}`],
  contentType: 'message/sipfrag;version=2.0',
  body: `SIP/2.0 ${frag}\n`,
})

/** The 200 to an in-dialog request of the gateway (its To already carries our tag). */
const okToGateway = `  <send>
${response('200 OK', {toTag: false})}
  </send>`

/**
 * UAC that calls, then sends REFERs that the gateway must refuse: each step's
 * Refer-To line (none when `referTo` is undefined) and the status (and
 * reason phrase, a regexp) it expects; `notifyFirst` first sends a NOTIFY for
 * no subscription (481). Then it hangs up.
 */
export const uacReferRefused = (steps: ReadonlyArray<{referTo?: string; status: number; reason?: string}>, notifyFirst = false): string => {
  let cseq = 1
  const stray = notifyFirst ? `  <send retrans="500">
${request('NOTIFY', {cseq: ++cseq, toTag: true, extra: ['Event: refer;id=4711', 'Subscription-State: active;expires=60'], contentType: 'message/sipfrag;version=2.0', body: 'SIP/2.0 100 Trying\n'})}
  </send>
  <recv response="481"/>` : ''
  const body = steps.map((step, index) => `  <send retrans="500">
${request('REFER', {cseq: ++cseq, toTag: true, extra: step.referTo === undefined ? [] : [`Refer-To: ${step.referTo}`]})}
  </send>
  <recv response="${step.status}">
    ${check('msg', `SIP/2.0 ${step.status} ${step.reason ?? ''}`, `refusal${index}`)}
  </recv>`).join('\n')
  return scenario('uac refer refused', `${callAnswered}
${stray}
${body}
  <send retrans="500">
${request('BYE', {cseq: ++cseq, toTag: true})}
  </send>
  <recv response="200"/>
`)
}

/**
 * UAC (the transferor) that calls, then REFERs the gateway to `referTo`:
 * 202, the NOTIFY `100 Trying` (subscription active), then NOTIFYs until
 * `180 Ringing` (the target, uasTransferTarget, rings first), then the one
 * whose sipfrag matches `finalFrag` (a regexp), which ends the subscription. On success it waits for the
 * gateway's BYE (the gateway releases the transferor); otherwise it hangs up.
 */
export const uacReferring = (referTo: string, finalFrag: string, success: boolean): string => scenario('uac referring', `${callAnswered}
  <pause milliseconds="300"/>
  <send retrans="500">
${request('REFER', {cseq: 2, toTag: true, extra: [`Refer-To: ${referTo}`, 'Referred-By: <sip:sipp@[local_ip]:[local_port]>']})}
  </send>
  <recv response="202"/>
  <recv request="NOTIFY">
    ${checks(['Event:', '^ *refer;id=2 *$', 'event'], ['Subscription-State:', '^ *active;expires=[0-9]+', 'active'], ['Content-Type:', 'message/sipfrag', 'frag'], ['body', '^SIP/2.0 100 Trying', 'trying'])}
  </recv>
${okToGateway}
  <recv request="NOTIFY">
    ${check('body', '^SIP/2.0 180 Ringing', 'ringing')}
  </recv>
${okToGateway}
  <recv request="NOTIFY">
    ${checks(['body', `^SIP/2.0 ${finalFrag}`, 'final'], ['Subscription-State:', '^ *terminated', 'terminated'])}
  </recv>
${okToGateway}
${success ? `  <recv request="BYE" timeout="10000"/>
${okToGateway}` : `  <send retrans="500">
${request('BYE', {cseq: 3, toTag: true})}
  </send>
  <recv response="200"/>`}
`)

/** The transfer target: takes the gateway's INVITE (checking Referred-By), rings, answers with `final` (`200 OK` with SDP, or a refusal), then takes the BYE. */
export const uasTransferTarget = (final: string): string => scenario('uas transfer target', `
  <recv request="INVITE">
    ${check('Referred-By:', 'sip:sipp@', 'referredBy')}
  </recv>
  <send>
${response('180 Ringing')}
  </send>
${final.startsWith('200') ? `  <send retrans="500">
${response(final, {body: sdp(1, 'sendrecv')})}
  </send>
  <recv request="ACK"/>
  <recv request="BYE" timeout="20000"/>
  <send>
${response('200 OK', {toTag: false})}
  </send>` : `  <send>
${response(final)}
  </send>
  <recv request="ACK"/>`}
`)

/**
 * UAC (the transferee) that calls and is REFERred by the gateway: it checks
 * the Refer-To (a regexp) and Referred-By, answers 202, sends NOTIFY `100
 * Trying` then NOTIFY with `finalFrag` (`200 OK`, `486 Busy Here`) ending the
 * subscription, as if it had placed the new call itself, and takes the
 * gateway's BYE.
 */
export const uacReferred = (referTo: string, finalFrag: string): string => scenario('uac referred', `${callAnswered}
  <recv request="REFER" timeout="10000">
    ${checks(['Refer-To:', referTo, 'referTo'], ['Referred-By:', '^ *<sips?:', 'referredBy'], ['CSeq:', '[0-9]+', 'referId'])}
  </recv>
  <send>
${response('202 Accepted', {toTag: false})}
  </send>
  <send retrans="500">
${notify(2, '100 Trying', 'active;expires=60')}
  </send>
  <recv response="200"/>
  <pause milliseconds="200"/>
  <send retrans="500">
${notify(3, finalFrag, 'terminated;reason=noresource')}
  </send>
  <recv response="200"/>
  <recv request="BYE" timeout="10000"/>
${okToGateway}
`)

/**
 * A call to be replaced (RFC 3891): INVITE, 200, ACK; then writes the dialog's
 * Call-ID, our From tag, the gateway's To tag and its RTP port to `idsFile`,
 * and waits for the gateway's BYE (the replacement's release), which it answers.
 */
export const uacToBeReplaced = (idsFile: string): string => scenario('uac to be replaced', `
  <send retrans="500">
${request('INVITE', {cseq: 1, body: sdp(1, 'sendrecv')})}
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true">
    ${checks(['Call-ID:', '([^[:space:]]+)', 'd1,callId'], ['From:', 'tag=([^;>[:space:]]+)', 'd2,fromTag'], ['To:', 'tag=([^;>[:space:]]+)', 'd3,toTag'], ['body', 'm=audio ([0-9]+)', 'd4,rtpPort'])}
  </recv>
  <send>
${request('ACK', {cseq: 1, toTag: true})}
  </send>
  <nop><action><exec command="echo '[$callId] [$fromTag] [$toTag] [$rtpPort]' > ${idsFile}"/></action></nop>
  <recv request="BYE" timeout="30000"/>
  <send>
${response('200 OK', {toTag: false})}
  </send>
  <Reference variables="d1,d2,d3,d4"/>`)

/** An INVITE with `Replaces: <replaces>` and an offer of PCMA at `rtpPort` (the test's own socket), refused with `status`, which it ACKs. */
export const uacReplacingRefused = (replaces: string, status: number, rtpPort: number): string => scenario(`uac replacing, expecting ${status}`, `
  <send retrans="500">
${request('INVITE', {cseq: 1, extra: [`Replaces: ${replaces}`, 'Supported: replaces'], body: replacingOffer(rtpPort)})}
  </send>
  <recv response="100" optional="true"/>
  <recv response="${status}"/>
  <send>
${request('ACK', {cseq: 1, toTag: true, branch: '[branch-2]'})}
  </send>`)

/** An INVITE with `Replaces: <replaces>` (and `Require: replaces`) offering PCMA at `rtpPort`: answered, it talks `talkMs`, then hangs up. */
export const uacReplacing = (replaces: string, rtpPort: number, talkMs: number): string => scenario('uac replacing', `
  <send retrans="500">
${request('INVITE', {cseq: 1, extra: [`Replaces: ${replaces}`, 'Require: replaces'], body: replacingOffer(rtpPort)})}
  </send>
  <recv response="100" optional="true"/>
  <recv response="200" rtd="true"/>
  <send>
${request('ACK', {cseq: 1, toTag: true})}
  </send>
  <pause milliseconds="${talkMs}"/>
  <send retrans="500">
${request('BYE', {cseq: 2, toTag: true})}
  </send>
  <recv response="200"/>`)

const replacingOffer = (rtpPort: number): string => `v=0
o=sipp 1 1 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio ${rtpPort} RTP/AVP 8 0
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=sendrecv`
