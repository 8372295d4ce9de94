// Types for hep-js (GPL-2.0, a devDependency used by tests only): the
// independent HEPv3 decoder the tests check our frames with.
declare module 'hep-js' {
  export interface HepJsRcinfo {
    protocolFamily?: number
    protocol?: number
    srcIp?: string
    dstIp?: string
    srcPort?: number
    dstPort?: number
    timeSeconds?: number
    timeUseconds?: number
    payloadType?: number
    captureId?: number
    capturePass?: string
    correlation_id?: string
  }
  export interface HepJsDecoded {
    rcinfo: HepJsRcinfo
    payload: string
  }
  const hepJs: {
    /** The decoded frame, or false when it does not parse. */
    decapsulate(frame: Buffer): HepJsDecoded | false | undefined
  }
  export default hepJs
}
