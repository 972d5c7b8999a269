// A node:dgram-compatible Socket on our stack. The state machine, argument handling, event order and
// errors follow Node's lib/dgram.js (v20) and what Linux reports through it: 'listening', 'connect'
// and 'close' come on a later tick; send() before bind binds implicitly and queues until listening;
// send errors go to the callback only (never 'error', as in Node); an ICMP port unreachable on a
// connected socket is emitted as 'error' `recvmsg ECONNREFUSED`. Differences, all deliberate:
//  - bind() validates the port (Node lets the C++ layer truncate 70000 to 4464);
//  - operations on a closed socket throw ERR_SOCKET_DGRAM_NOT_RUNNING where Node would hit a null
//    handle and throw a TypeError;
//  - names are resolved by the `lookup` option (same signature as dns.lookup); without one only IP
//    literals and 'localhost' resolve (the host's DNS is not this stack's network);
//  - a udp6 socket is IPv6-only (no IPv4-mapped addresses); scope ids (%eth0) are ignored;
//  - no fd/cluster/exclusive handling, no source-specific multicast.
// Liveness: a bound socket holds a runtime reference (keeps the process alive) until close() or
// unref(), exactly where Node's handle would.

import { EventEmitter } from 'node:events';
import type { Stack } from '../core/stack.js';
import type { IpAddress, UdpError, UdpModule, UdpSocket, UdpSocketListener } from '../core/udp.js';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '../wire/address.js';
import { NodeErrors, errnoException, exceptionWithHostPort, lookupError, validatePort } from './errors.js';
import type { Runtime } from './runtime.js';

export type SocketType = 'udp4' | 'udp6';

/** dns.lookup-compatible resolver: `lookup(hostname, family, (err, address, family) => ...)`. */
export type LookupFunction = (hostname: string, family: number, callback: (err: Error | null, address: string, family: number) => void) => void;

export interface SocketOptions {
  readonly type: SocketType;
  readonly reuseAddr?: boolean;
  /** Accepted for compatibility; udp6 sockets are always IPv6-only here. */
  readonly ipv6Only?: boolean;
  readonly recvBufferSize?: number;
  readonly sendBufferSize?: number;
  readonly lookup?: LookupFunction;
  readonly signal?: AbortSignal;
}

export interface RemoteInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
  size: number;
}

export interface AddressInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
}

export interface BindOptions {
  port?: number;
  address?: string;
  exclusive?: boolean;
}

/** What a socket needs from its stack (NodeStack implements it). */
export interface DgramStack {
  readonly core: Stack;
  readonly runtime: Runtime;
  /** Open sockets, closed together with the stack. */
  readonly sockets: Set<Socket>;
}

type SendCallback = (error: Error | null, bytes?: number) => void;
type SendMessage = string | NodeJS.ArrayBufferView | ReadonlyArray<string | NodeJS.ArrayBufferView>;
type MessageListener = (msg: Buffer, rinfo: RemoteInfo) => void;

const UNBOUND = 0;
const BINDING = 1;
const BOUND = 2;
const DISCONNECTED = 0;
const CONNECTING = 1;
const CONNECTED = 2;
/** Messages emitted per drain before yielding to other sockets and the stack. */
const MAX_MESSAGES_PER_DRAIN = 256;

function defaultLookup(hostname: string, family: number, callback: (err: Error | null, address: string, family: number) => void): void {
  const ip = hostname === 'localhost' ? (family === 6 ? '::1' : '127.0.0.1') : hostname;
  const literal = parseIpv4(ip) !== null ? 4 : parseIpv6(ip.replace(/%.*$/, '')) !== null ? 6 : 0;
  process.nextTick(() => (literal ? callback(null, ip, literal) : callback(lookupError(hostname), '', family)));
}

function toView(b: unknown): Uint8Array | null {
  if (typeof b === 'string') return Buffer.from(b);
  if (ArrayBuffer.isView(b)) return b instanceof Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return null;
}

/** Node's sliceBuffer(): offset/length checked against the buffer. */
function sliceBuffer(buffer: unknown, offset: unknown, length: unknown): Uint8Array {
  if (typeof buffer === 'string') buffer = Buffer.from(buffer);
  else if (!ArrayBuffer.isView(buffer)) throw NodeErrors.invalidArgType('buffer', 'of type string or an instance of Buffer, TypedArray, or DataView', buffer);
  const b = buffer as ArrayBufferView;
  const off = (offset as number) >>> 0;
  const len = (length as number) >>> 0;
  if (off > b.byteLength) throw NodeErrors.bufferOutOfBounds('offset');
  if (off + len > b.byteLength) throw NodeErrors.bufferOutOfBounds('length');
  return new Uint8Array(b.buffer, b.byteOffset + off, len);
}

export class Socket extends EventEmitter {
  readonly type: SocketType;
  private readonly family: 4 | 6;
  private handle: UdpSocket | null;
  private bindState = UNBOUND;
  private connectState = DISCONNECTED;
  private queue: Array<() => void> | undefined;
  /** The socket exists at the OS level (Node: the fd was created by a bind). */
  private everBound = false;
  private refd = true;
  private holding = false;
  private drainScheduled = false;
  private readonly lookup: LookupFunction;
  private recvBufferSize: number | undefined;
  private sendBufferSize: number | undefined;

  /** @internal use createSocket() */
  constructor(
    private readonly host: DgramStack,
    udp: UdpModule,
    options: SocketOptions,
  ) {
    super();
    this.type = options.type;
    this.family = options.type === 'udp4' ? 4 : 6;
    this.lookup = options.lookup ?? defaultLookup;
    this.recvBufferSize = options.recvBufferSize;
    this.sendBufferSize = options.sendBufferSize;
    const h = udp.socket(this.family, { reuseAddr: !!options.reuseAddr });
    if (typeof h === 'string') throw errnoException(h, 'socket');
    this.handle = h;
    h.listener = this.coreListener;
    host.sockets.add(this);
    const signal = options.signal;
    if (signal !== undefined) {
      const onAborted = (): void => {
        if (this.handle) this.close();
      };
      if (signal.aborted) onAborted();
      else {
        signal.addEventListener('abort', onAborted);
        this.once('close', () => signal.removeEventListener('abort', onAborted));
      }
    }
  }

  private healthCheck(): UdpSocket {
    if (!this.handle) throw NodeErrors.socketDgramNotRunning();
    return this.handle;
  }

  /** Options that need the OS socket: EBADF before the first bind, like libuv's lazily created fd. */
  private requireFd(syscall: string): UdpSocket {
    const h = this.healthCheck();
    if (!this.everBound) throw errnoException('EBADF', syscall);
    return h;
  }

  // One-entry caches: a socket usually talks to one peer, and parsing/formatting showed in profiles.
  private lastText = '';
  private lastParsed: IpAddress | null = null;
  private lastV4 = -1;
  private lastV4Text = '';

  private parse(ip: string): IpAddress | null {
    if (ip === this.lastText && this.lastParsed !== null) return typeof this.lastParsed === 'number' ? this.lastParsed : this.lastParsed.slice();
    const a = this.family === 4 ? parseIpv4(ip) : parseIpv6(ip.replace(/%.*$/, ''));
    this.lastText = ip;
    this.lastParsed = a;
    return a;
  }

  private format(a: IpAddress): string {
    if (typeof a !== 'number') return formatIpv6(a);
    if (a !== this.lastV4) {
      this.lastV4 = a;
      this.lastV4Text = formatIpv4(a);
    }
    return this.lastV4Text;
  }

  private get familyName(): 'IPv4' | 'IPv6' {
    return this.family === 4 ? 'IPv4' : 'IPv6';
  }

  private resolve(address: string, cb: (err: Error | null, ip: string) => void): void {
    const fallback = this.family === 4 ? '127.0.0.1' : '::1';
    this.lookup(address || fallback, this.family, (err, ip) => cb(err, ip));
  }

  // ---------------------------------------------------------------- bind / connect

  bind(port?: number | BindOptions | (() => void), address?: string | (() => void), callback?: () => void): this;
  bind(...args: unknown[]): this {
    let port = args[0];
    this.healthCheck();
    if (this.bindState !== UNBOUND) throw NodeErrors.socketAlreadyBound();
    const last = args.length > 0 ? args[args.length - 1] : undefined;
    const cb = typeof last === 'function' ? (last as () => void) : undefined;
    let address: unknown;
    if (port !== null && typeof port === 'object') {
      const o = port as BindOptions;
      address = o.address || '';
      port = o.port;
    } else {
      address = typeof args[1] === 'function' ? '' : args[1];
    }
    const p = port === undefined || port === null || typeof port === 'function' ? 0 : validatePort(port, 'Port', true);
    if (address !== undefined && address !== null && typeof address !== 'string') throw NodeErrors.invalidArgType('address', 'of type string', address);
    this.bindState = BINDING;
    if (cb) {
      const removeListeners = (): void => {
        this.removeListener('error', removeListeners);
        this.removeListener('listening', onListening);
      };
      const onListening = (): void => {
        removeListeners();
        cb.call(this);
      };
      this.on('error', removeListeners);
      this.on('listening', onListening);
    }
    const addr = (address as string | undefined) || (this.family === 4 ? '0.0.0.0' : '::');
    this.lookup(addr, this.family, (err, ip) => {
      const h = this.handle;
      if (!h) return; // closed meanwhile
      if (err) {
        this.bindState = UNBOUND;
        this.emit('error', err);
        return;
      }
      // The OS socket now exists even if bind fails (address() then answers 0.0.0.0:0, not EBADF).
      this.everBound = true;
      const a = this.parse(ip);
      const e: UdpError | undefined = a === null ? 'EINVAL' : h.bind(a, p);
      if (e) {
        this.bindState = UNBOUND;
        this.emit('error', exceptionWithHostPort(e, 'bind', ip, p));
        return;
      }
      this.startListening(h);
    });
    return this;
  }

  private startListening(h: UdpSocket): void {
    this.bindState = BOUND;
    this.everBound = true;
    if (this.recvBufferSize !== undefined) h.rxQueueBytes = this.recvBufferSize;
    this.updateRef();
    this.host.runtime.wake();
    this.emit('listening');
  }

  connect(port: number, address?: string | (() => void), callback?: () => void): void {
    const p = validatePort(port, 'Port', false);
    let addr: unknown = address;
    let cb = callback;
    if (typeof addr === 'function') {
      cb = addr as () => void;
      addr = '';
    } else if (addr === undefined) {
      addr = '';
    }
    if (typeof addr !== 'string') throw NodeErrors.invalidArgType('address', 'of type string', addr);
    this.healthCheck();
    if (this.connectState !== DISCONNECTED) throw NodeErrors.socketDgramIsConnected();
    this.connectState = CONNECTING;
    if (this.bindState === UNBOUND) this.bind({ port: 0, exclusive: true });
    const go = (): void => this.doConnect(p, addr as string, cb);
    if (this.bindState !== BOUND) {
      this.enqueue(go);
      return;
    }
    go();
  }

  private doConnect(port: number, address: string, callback: (() => void) | undefined): void {
    if (callback) this.once('connect', callback);
    this.resolve(address, (ex, ip) => {
      const h = this.handle;
      if (!h) return;
      let err: Error | null = ex;
      if (!err) {
        const a = this.parse(ip);
        const e = a === null ? 'EINVAL' : h.connect(a, port);
        this.host.runtime.wake();
        if (e) err = exceptionWithHostPort(e, 'connect', address, port);
      }
      if (err) {
        this.connectState = DISCONNECTED;
        const failure = err;
        process.nextTick(() => {
          if (callback) {
            this.removeListener('connect', callback);
            (callback as (e: Error) => void)(failure);
          } else {
            this.emit('error', failure);
          }
        });
        return;
      }
      this.connectState = CONNECTED;
      process.nextTick(() => this.emit('connect'));
    });
  }

  disconnect(): void {
    const h = this.healthCheck();
    if (this.connectState !== CONNECTED) throw NodeErrors.socketDgramNotConnected();
    h.disconnect();
    this.connectState = DISCONNECTED;
  }

  private enqueue(fn: () => void): void {
    if (this.queue === undefined) {
      this.queue = [];
      const onListenError = (): void => {
        this.removeListener('listening', onListenSuccess);
        this.queue = undefined;
      };
      const onListenSuccess = (): void => {
        this.removeListener(EventEmitter.errorMonitor, onListenError);
        const q = this.queue ?? [];
        this.queue = undefined;
        for (const f of q) f();
      };
      this.once(EventEmitter.errorMonitor, onListenError);
      this.once('listening', onListenSuccess);
    }
    this.queue.push(fn);
  }

  // ---------------------------------------------------------------- send

  send(msg: SendMessage, port?: number, address?: string, callback?: SendCallback): void;
  send(msg: SendMessage, port?: number, callback?: SendCallback): void;
  send(msg: SendMessage, callback?: SendCallback): void;
  send(msg: string | NodeJS.ArrayBufferView, offset: number, length: number, port?: number, address?: string, callback?: SendCallback): void;
  send(msg: string | NodeJS.ArrayBufferView, offset: number, length: number, port?: number, callback?: SendCallback): void;
  send(msg: string | NodeJS.ArrayBufferView, offset: number, length: number, callback?: SendCallback): void;
  send(msg: unknown, ...rest: unknown[]): void {
    let buffer = msg;
    let [offset, length, port, address, callback] = rest;
    const connected = this.connectState === CONNECTED;
    if (!connected) {
      if (address || (port && typeof port !== 'function')) {
        buffer = sliceBuffer(buffer, offset, length);
      } else {
        callback = port;
        port = offset;
        address = length;
      }
    } else {
      if (typeof length === 'number') {
        buffer = sliceBuffer(buffer, offset, length);
        if (typeof port === 'function') {
          callback = port;
          port = null;
        }
      } else {
        callback = offset;
      }
      if (port || address) throw NodeErrors.socketDgramIsConnected();
    }
    let list: Uint8Array[];
    if (!Array.isArray(buffer)) {
      const v = toView(buffer);
      if (!v) throw NodeErrors.invalidArgType('buffer', 'of type string or an instance of Buffer, TypedArray, or DataView', buffer);
      list = [v];
    } else {
      const views = buffer.map(toView);
      if (views.some((v) => v === null)) throw NodeErrors.invalidArgType('buffer list arguments', 'of type string or an instance of Buffer, TypedArray, or DataView', buffer);
      list = views as Uint8Array[];
    }
    let dport: number | undefined;
    if (!connected) dport = validatePort(port, 'Port', false);
    let cb = typeof callback === 'function' ? (callback as SendCallback) : undefined;
    if (typeof address === 'function') {
      cb = address as SendCallback;
      address = undefined;
    } else if (address !== undefined && address !== null && typeof address !== 'string') {
      throw NodeErrors.invalidArgType('address', 'of type string', address);
    }
    this.healthCheck();
    if (this.bindState === UNBOUND) this.bind({ port: 0, exclusive: true });
    const addr = (address ?? undefined) as string | undefined;
    if (this.bindState !== BOUND) {
      this.enqueue(() => this.send(list, dport, addr, cb));
      return;
    }
    if (!connected) this.resolve(addr ?? '', (ex, ip) => this.doSend(ex, ip, list, addr, dport, cb));
    else this.doSend(null, '', list, addr, undefined, cb);
  }

  private doSend(ex: Error | null, ip: string, list: Uint8Array[], address: string | undefined, port: number | undefined, callback: SendCallback | undefined): void {
    if (ex) {
      if (callback) process.nextTick(callback, ex);
      else process.nextTick(() => this.emit('error', ex));
      return;
    }
    const h = this.handle;
    if (!h) return;
    let err: UdpError | undefined;
    if (port === undefined) err = h.send(list, null, this.host.runtime.now());
    else {
      const a = this.parse(ip);
      err = a === null ? 'EINVAL' : h.send(list, { address: a, port }, this.host.runtime.now());
    }
    this.host.runtime.wake();
    if (!err) {
      if (callback) {
        let n = 0;
        for (const b of list) n += b.length;
        process.nextTick(callback, null, n);
      }
      return;
    }
    // Node reports send errors to the callback only (dgram_legacy compatibility), never as 'error'.
    if (callback) process.nextTick(callback, exceptionWithHostPort(err, 'send', address, port));
  }

  // ---------------------------------------------------------------- receive

  private readonly coreListener: UdpSocketListener = {
    readable: () => this.scheduleDrain(),
    error: () => this.scheduleDrain(),
  };

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    this.host.runtime.defer(this.drain);
  }

  private readonly drain = (): void => {
    this.drainScheduled = false;
    const h = this.handle;
    if (!h) return;
    try {
      const err = h.takeError();
      if (err) this.emit('error', errnoException(err, 'recvmsg'));
      for (let n = 0; n < MAX_MESSAGES_PER_DRAIN && this.handle === h; n++) {
        const d = h.recv();
        if (!d) break;
        const msg = Buffer.from(d.data.buffer, d.data.byteOffset, d.data.byteLength);
        this.emit('message', msg, { address: this.format(d.address), family: this.familyName, port: d.port, size: msg.length });
      }
    } finally {
      // Also after a listener threw: what is still queued gets a later drain.
      if (this.handle === h && h.queued > 0) this.scheduleDrain();
    }
  };

  // ---------------------------------------------------------------- close, addresses, liveness

  close(callback?: () => void): this {
    if (typeof callback === 'function') this.on('close', callback);
    if (this.queue !== undefined) {
      this.queue.push(() => this.close());
      return this;
    }
    const h = this.healthCheck();
    h.close(this.host.runtime.now());
    this.handle = null;
    this.updateRef();
    this.host.sockets.delete(this);
    this.host.runtime.wake();
    process.nextTick(() => this.emit('close'));
    return this;
  }

  address(): AddressInfo {
    const h = this.healthCheck();
    if (!this.everBound) throw errnoException('EBADF', 'getsockname');
    return { address: this.format(h.localAddress), family: this.familyName, port: h.localPort };
  }

  remoteAddress(): AddressInfo {
    const h = this.healthCheck();
    if (this.connectState !== CONNECTED || h.remoteAddress === null) throw NodeErrors.socketDgramNotConnected();
    return { address: this.format(h.remoteAddress), family: this.familyName, port: h.remotePort };
  }

  ref(): this {
    this.refd = true;
    this.updateRef();
    return this;
  }

  unref(): this {
    this.refd = false;
    this.updateRef();
    return this;
  }

  private updateRef(): void {
    const want = this.handle !== null && this.bindState === BOUND && this.refd;
    if (want === this.holding) return;
    this.holding = want;
    if (want) this.host.runtime.ref();
    else this.host.runtime.unref();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.handle) return;
    await new Promise<void>((resolve) => this.close(resolve));
  }

  // ---------------------------------------------------------------- socket options

  setBroadcast(flag: boolean): void {
    this.requireFd('setBroadcast').broadcast = !!flag;
  }

  setTTL(ttl: number): number {
    if (typeof ttl !== 'number') throw NodeErrors.invalidArgType('ttl', 'of type number', ttl);
    const h = this.requireFd('setTTL');
    const v = Math.trunc(ttl);
    if (!(v >= 1 && v <= 255)) throw errnoException('EINVAL', 'setTTL');
    h.ttl = v;
    return ttl;
  }

  setMulticastTTL(ttl: number): number {
    if (typeof ttl !== 'number') throw NodeErrors.invalidArgType('ttl', 'of type number', ttl);
    const h = this.requireFd('setMulticastTTL');
    const v = Math.trunc(ttl);
    if (!(v >= 0 && v <= 255)) throw errnoException('EINVAL', 'setMulticastTTL');
    h.multicastTtl = v;
    return ttl;
  }

  setMulticastLoopback(flag: boolean): boolean {
    this.requireFd('setMulticastLoopback').multicastLoop = !!flag;
    return flag;
  }

  setMulticastInterface(interfaceAddress: string): void {
    if (typeof interfaceAddress !== 'string') throw NodeErrors.invalidArgType('interfaceAddress', 'of type string', interfaceAddress);
    const h = this.requireFd('setMulticastInterface');
    const a = this.parse(interfaceAddress);
    const err = a === null ? 'EINVAL' : h.setMulticastInterface(a);
    if (err) throw errnoException(err, 'setMulticastInterface');
  }

  addMembership(multicastAddress: string, interfaceAddress?: string): void {
    this.membership('addMembership', multicastAddress, interfaceAddress);
  }

  dropMembership(multicastAddress: string, interfaceAddress?: string): void {
    this.membership('dropMembership', multicastAddress, interfaceAddress);
  }

  private membership(syscall: 'addMembership' | 'dropMembership', group: string, iface: string | undefined): void {
    const h = this.healthCheck();
    if (!group) throw NodeErrors.missingArgs('multicastAddress');
    if (typeof group !== 'string') throw NodeErrors.invalidArgType('multicastAddress', 'of type string', group);
    if (iface !== undefined && typeof iface !== 'string') throw NodeErrors.invalidArgType('interfaceAddress', 'of type string', iface);
    const g = this.parse(group);
    const i = iface === undefined ? null : this.parse(iface);
    if (g === null || (iface !== undefined && i === null)) throw errnoException('EINVAL', syscall);
    const now = this.host.runtime.now();
    const err = syscall === 'addMembership' ? h.addMembership(g, i, now) : h.dropMembership(g, i, now);
    this.host.runtime.wake();
    if (err) throw errnoException(err, syscall);
  }

  setRecvBufferSize(size: number): void {
    this.bufferSize(size, 'recv');
  }
  getRecvBufferSize(): number {
    return this.bufferSize(undefined, 'recv');
  }
  setSendBufferSize(size: number): void {
    this.bufferSize(size, 'send');
  }
  getSendBufferSize(): number {
    return this.bufferSize(undefined, 'send');
  }

  /** Receive: the byte bound of the receive queue. Send: recorded only (sends complete synchronously). */
  private bufferSize(size: number | undefined, which: 'recv' | 'send'): number {
    if (size !== undefined && (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > 0xffff_ffff)) {
      throw NodeErrors.outOfRange('size', '> 0 && <= 4294967295', size);
    }
    const h = this.healthCheck();
    if (!this.everBound) throw NodeErrors.socketBufferSize(`uv_${which}_buffer_size returned EBADF (bad file descriptor)`);
    if (which === 'recv') {
      if (size !== undefined) h.rxQueueBytes = this.recvBufferSize = size;
      return h.rxQueueBytes;
    }
    if (size !== undefined) this.sendBufferSize = size;
    return this.sendBufferSize ?? h.rxQueueBytes;
  }

  /** Bytes waiting to be sent: always 0 (sends complete synchronously into the stack). */
  getSendQueueSize(): number {
    return 0;
  }
  getSendQueueCount(): number {
    return 0;
  }
}

// Typed events, as @types/node declares them for dgram.Socket.
export interface Socket {
  on(event: 'close' | 'connect' | 'listening', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'message', listener: MessageListener): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'close' | 'connect' | 'listening', listener: () => void): this;
  once(event: 'error', listener: (err: Error) => void): this;
  once(event: 'message', listener: MessageListener): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
}

/** dgram.createSocket() on `host`: `type` is 'udp4' | 'udp6' or an options object; `listener` gets 'message'. */
export function createDgramSocket(host: DgramStack, type: SocketType | SocketOptions, listener?: MessageListener): Socket {
  let options: SocketOptions;
  if (typeof type === 'string') options = { type };
  else if (type !== null && typeof type === 'object') options = type;
  else throw NodeErrors.socketBadType();
  if (options.type !== 'udp4' && options.type !== 'udp6') throw NodeErrors.socketBadType();
  if (options.lookup !== undefined && typeof options.lookup !== 'function') throw NodeErrors.invalidArgType('lookup', 'of type function', options.lookup);
  for (const k of ['recvBufferSize', 'sendBufferSize'] as const) {
    const v = options[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 0xffff_ffff)) throw NodeErrors.outOfRange(`options.${k}`, '> 0 && <= 4294967295', v);
  }
  const udp = host.core.module<UdpModule>('udp');
  if (!udp) throw NodeErrors.invalidArgValue('type', options.type, "needs the 'udp' protocol in this stack");
  const s = new Socket(host, udp, options);
  if (typeof listener === 'function') s.on('message', listener);
  return s;
}
