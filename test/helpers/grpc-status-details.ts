// google.rpc.Status details for a gRPC error, as a server sends them in the
// `grpc-status-details-bin` trailer: here a google.rpc.RetryInfo (the OTLP
// way for a collector to say "retry after this long"). Encoded by protobufjs
// from the googleapis definitions (google/rpc/status.proto,
// google/rpc/error_details.proto; Any and Duration are protobufjs's own copies
// of the well-known types), not by the gateway's code.
import * as grpc from '@grpc/grpc-js'
import protobuf from 'protobufjs'

const root = new protobuf.Root()
root.addJSON(protobuf.common.get('google/protobuf/any.proto')?.nested ?? {})
root.addJSON(protobuf.common.get('google/protobuf/duration.proto')?.nested ?? {})
protobuf.parse(
  `syntax = "proto3";
package google.rpc;
message Status {
  int32 code = 1;
  string message = 2;
  repeated google.protobuf.Any details = 3;
}
message RetryInfo {
  google.protobuf.Duration retry_delay = 1;
}`,
  root,
)
const Status = root.lookupType('google.rpc.Status')
const RetryInfo = root.lookupType('google.rpc.RetryInfo')

/** The bytes of a google.rpc.Status carrying a RetryInfo of `delayMs`. */
export const statusWithRetryInfo = (code: grpc.status, delayMs: number): Buffer => {
  const retryInfo = RetryInfo.encode(RetryInfo.fromObject({retryDelay: {seconds: Math.floor(delayMs / 1000), nanos: (delayMs % 1000) * 1e6}})).finish()
  const status = Status.fromObject({code, message: 'slow down', details: [{type_url: 'type.googleapis.com/google.rpc.RetryInfo', value: retryInfo}]})
  return Buffer.from(Status.encode(status).finish())
}

/** Trailing metadata that says: retry after `delayMs`. */
export const retryInfoMetadata = (code: grpc.status, delayMs: number): grpc.Metadata => {
  const metadata = new grpc.Metadata()
  metadata.set('grpc-status-details-bin', statusWithRetryInfo(code, delayMs))
  return metadata
}
