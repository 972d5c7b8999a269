// The Node-facing API: createStack(), the event-loop runtime, the dgram-compatible socket and the
// Node-shaped error helpers. Everything here may use node:*; the core underneath never does.
export { createStack, NodeStack, PING_DEFAULTS, PROTOCOLS, STACK_DEFAULTS } from './stack.js';
export type { CreateStackOptions, InterfaceOptions, PingOptions, PingProbe, PingResult, ProtocolName, ResolvedStackOptions } from './stack.js';
export { Runtime, defaultRuntime, hrtimeInstant } from './runtime.js';
export type { RuntimeOptions } from './runtime.js';
export { Socket, createDgramSocket } from './dgram.js';
export type { AddressInfo, BindOptions, DgramStack, LookupFunction, RemoteInfo, SocketOptions, SocketType } from './dgram.js';
export { CORE_ERROR_CODES, ERRNO, NodeErrors, describeReceived, errnoException, exceptionWithHostPort, lookupError, validatePort } from './errors.js';
export type { CoreErrorCode, SystemError } from './errors.js';
