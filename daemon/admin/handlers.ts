// What each admin method does, keyed by the method table so that a method
// without a handler (or a handler with the wrong result type) fails to compile.
import type {Gateway} from '../gateway.js'
import type {AdminHandlers} from './server.js'

export const createAdminHandlers = (gateway: Gateway): AdminHandlers => ({
  'daemon.status': () => gateway.status(),
  'daemon.stop': ({timeout_ms}) => gateway.requestStop(timeout_ms),
})
