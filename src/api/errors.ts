// Node-shaped errors at the API edge (STYLE decision 7). The core speaks small errno-name strings
// ('EADDRINUSE', 'ECONNREFUSED', ...); this module is the one table that turns them into the errors
// Node itself throws or emits: `code`, `errno` (looked up in util.getSystemErrorMap(), never
// hard-coded, so it is right on every platform), `syscall`, `address`, `port`, and the exact message
// format of Node's ExceptionWithHostPort / ErrnoException ('bind EADDRINUSE 0.0.0.0:53'). Node's own
// ERR_* argument and state errors are reproduced with their classes, codes and messages.

import { getSystemErrorMap, inspect } from 'node:util';

/** Errno names the core reports. Only these can reach a user through the mappers below. */
export const CORE_ERROR_CODES = [
  'EACCES',
  'EADDRINUSE',
  'EADDRNOTAVAIL',
  'EAFNOSUPPORT',
  'EBADF',
  'ECONNREFUSED',
  'ECONNRESET',
  'EDESTADDRREQ',
  'EHOSTDOWN',
  'EHOSTUNREACH',
  'EINVAL',
  'EMSGSIZE',
  'ENETUNREACH',
  'ENOBUFS',
  'ENODEV',
  'ENONET',
  'ENOPROTOOPT',
  'ENOTCONN',
  'ENOTFOUND',
  'EOPNOTSUPP',
  'EPROTO',
  'ETIMEDOUT',
] as const;

export type CoreErrorCode = (typeof CORE_ERROR_CODES)[number];

/** The mapping table: core code → errno from this platform's libuv map (undefined if it has none). */
export const ERRNO: Readonly<Record<CoreErrorCode, number | undefined>> = (() => {
  const byName = new Map<string, number>();
  for (const [errno, [name]] of getSystemErrorMap()) if (!byName.has(name)) byName.set(name, errno);
  const out = {} as Record<CoreErrorCode, number | undefined>;
  for (const c of CORE_ERROR_CODES) out[c] = byName.get(c);
  return Object.freeze(out);
})();

/** A system error as Node builds them: own enumerable errno, code, syscall (+ address, port). */
export interface SystemError extends Error {
  errno?: number;
  code: string;
  syscall: string;
  address?: string;
  port?: number;
  hostname?: string;
}

/** Node's ErrnoException: message `${syscall} ${code}`, e.g. the `recvmsg ECONNREFUSED` of a connected UDP socket. */
export function errnoException(code: CoreErrorCode, syscall: string): SystemError {
  const e = new Error(`${syscall} ${code}`) as SystemError;
  e.errno = ERRNO[code];
  e.code = code;
  e.syscall = syscall;
  return e;
}

/**
 * Node's ExceptionWithHostPort: message `${syscall} ${code} ${address}:${port}` (the port part only
 * when port > 0, the address part only when given); `port` is set only when truthy.
 */
export function exceptionWithHostPort(code: CoreErrorCode, syscall: string, address: string | undefined, port: number | undefined): SystemError {
  let details = '';
  if (port && port > 0) details = ` ${address}:${port}`;
  else if (address) details = ` ${address}`;
  const e = new Error(`${syscall} ${code}${details}`) as SystemError;
  e.errno = ERRNO[code];
  e.code = code;
  e.syscall = syscall;
  e.address = address;
  if (port) e.port = port;
  return e;
}

/** Node's DNS failure shape (`getaddrinfo ENOTFOUND name`), for names our stack cannot resolve. */
export function lookupError(hostname: string): SystemError {
  const e = new Error(`getaddrinfo ENOTFOUND ${hostname}`) as SystemError;
  e.errno = ERRNO.ENOTFOUND;
  e.code = 'ENOTFOUND';
  e.syscall = 'getaddrinfo';
  e.hostname = hostname;
  return e;
}

type ErrorClass = ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor;

/** Node's internal errors: `code` own and enumerable, and `Name [CODE]: message` in toString and the stack. */
function nodeError(Base: ErrorClass, code: string, message: string): Error & { code: string } {
  const e = new Base(message) as Error & { code: string };
  e.code = code;
  const name = e.name;
  if (typeof e.stack === 'string') e.stack = e.stack.replace(`${name}: `, `${name} [${code}]: `);
  Object.defineProperty(e, 'toString', {
    value: () => `${name} [${code}]: ${e.message}`,
    enumerable: false,
    writable: true,
    configurable: true,
  });
  return e;
}

/** How Node's messages describe a received value (internal/errors determineSpecificType). */
export function describeReceived(value: unknown): string {
  if (value == null) return `${value as null | undefined}`;
  if (typeof value === 'function' && value.name) return `function ${value.name}`;
  if (typeof value === 'object') {
    const ctor = (value as { constructor?: { name?: string } }).constructor;
    if (ctor?.name) return `an instance of ${ctor.name}`;
    return inspect(value, { depth: -1 });
  }
  let inspected = inspect(value, { colors: false });
  if (inspected.length > 28) inspected = `${inspected.slice(0, 25)}...`;
  return `type ${typeof value} (${inspected})`;
}

export const NodeErrors = {
  socketDgramNotRunning: () => nodeError(Error, 'ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running'),
  socketDgramIsConnected: () => nodeError(Error, 'ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected'),
  socketDgramNotConnected: () => nodeError(Error, 'ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected'),
  socketAlreadyBound: () => nodeError(Error, 'ERR_SOCKET_ALREADY_BOUND', 'Socket is already bound'),
  socketBadType: () => nodeError(TypeError, 'ERR_SOCKET_BAD_TYPE', 'Bad socket type specified. Valid types are: udp4, udp6'),
  socketBadPort: (name: string, port: unknown, allowZero: boolean) =>
    nodeError(RangeError, 'ERR_SOCKET_BAD_PORT', `${name} should be ${allowZero ? '>=' : '>'} 0 and < 65536. Received ${describeReceived(port)}.`),
  bufferOutOfBounds: (name: string) => nodeError(RangeError, 'ERR_BUFFER_OUT_OF_BOUNDS', `"${name}" is outside of buffer bounds`),
  missingArgs: (name: string) => nodeError(TypeError, 'ERR_MISSING_ARGS', `The "${name}" argument must be specified`),
  /** `expected` is the phrase after "must be", e.g. 'of type string'. */
  invalidArgType: (name: string, expected: string, value: unknown) =>
    nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" argument must be ${expected}. Received ${describeReceived(value)}`),
  invalidArgValue: (name: string, value: unknown, reason = 'is invalid') =>
    nodeError(TypeError, 'ERR_INVALID_ARG_VALUE', `The argument '${name}' ${reason}. Received ${inspect(value)}`),
  outOfRange: (name: string, range: string, value: unknown) =>
    nodeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be ${range}. Received ${inspect(value)}`),
  socketBufferSize: (detail: string) => nodeError(Error, 'ERR_SOCKET_BUFFER_SIZE', `Could not get or set buffer size: ${detail}`),
} as const;

/** Node's validatePort: integer-valued number or numeric string in range, else ERR_SOCKET_BAD_PORT. */
export function validatePort(port: unknown, name = 'Port', allowZero = true): number {
  const ok =
    (typeof port === 'number' || (typeof port === 'string' && port.trim().length !== 0)) &&
    +port === +port >>> 0 &&
    +port <= 0xffff &&
    (allowZero || +port !== 0);
  if (!ok) throw NodeErrors.socketBadPort(name, port, allowZero);
  return +port | 0;
}
