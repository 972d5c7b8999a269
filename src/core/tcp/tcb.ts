// TCP control block (RFC 9293 §3.3.1) and the per-connection buffers: a bounded send buffer (bytes
// from SND.UNA on), a receive ring whose free space is the advertised window (credit-based: the
// window reopens only when the application reads), and an out-of-order queue bounded in bytes (by
// the window) and in holes. Segment processing lives in input.ts, emission in output.ts, timers in
// timers.ts; this file holds state and the application-facing socket methods.

import type { Instant } from '../../time/instant.js';
import type { Ipv4Address, Ipv6Address } from '../../wire/address.js';
import { seqDiff, seqLe } from './seq.js';
import { RttEstimator } from './timers.js';
import type { TcpModule } from './module.js';

export type TcpFamily = 4 | 6;
export type IpAddress = Ipv4Address | Ipv6Address;

export type TcpError =
  | 'EADDRINUSE'
  | 'EAFNOSUPPORT'
  | 'EBADF'
  | 'ECONNREFUSED'
  | 'ECONNRESET'
  | 'EHOSTUNREACH'
  | 'EINVAL'
  | 'EISCONN'
  | 'ENETUNREACH'
  | 'ENOBUFS'
  | 'ENOTCONN'
  | 'EPIPE'
  | 'ETIMEDOUT';

/** RFC 9293 §3.3.2 states. */
export const TcpState = {
  CLOSED: 'CLOSED',
  LISTEN: 'LISTEN',
  SYN_SENT: 'SYN-SENT',
  SYN_RECEIVED: 'SYN-RECEIVED',
  ESTABLISHED: 'ESTABLISHED',
  FIN_WAIT_1: 'FIN-WAIT-1',
  FIN_WAIT_2: 'FIN-WAIT-2',
  CLOSE_WAIT: 'CLOSE-WAIT',
  CLOSING: 'CLOSING',
  LAST_ACK: 'LAST-ACK',
  TIME_WAIT: 'TIME-WAIT',
} as const;
export type TcpState = (typeof TcpState)[keyof typeof TcpState];

/**
 * How a socket tells its owner about progress. Called synchronously from inside the stack: record
 * the fact and act after the call returns (never call back into the stack from here).
 */
export interface TcpSocketListener {
  /** The handshake completed (active open). */
  connected?(): void;
  /** Data (or the peer's FIN) can be read. */
  readable?(): void;
  /** Send-buffer space became available. */
  writable?(): void;
  /** The connection failed or was reset; takeError() has the code. */
  error?(): void;
  /** The socket reached CLOSED (all resources released). */
  closed?(): void;
}

/** A fixed-capacity byte ring; storage is allocated on first write (no buffers before data flows). */
export class ByteRing {
  private buf: Uint8Array | null = null;
  private head = 0;
  length = 0;
  constructor(public capacity: number) {}
  /** Whether storage has been allocated (E2: none before data flows). */
  get allocated(): boolean {
    return this.buf !== null;
  }
  get free(): number {
    return this.capacity - this.length;
  }
  /** Appends up to `free` bytes of src[off, off+n); returns the count taken. */
  write(src: Uint8Array, off: number, n: number): number {
    const take = Math.min(n, this.free);
    if (take <= 0) return 0;
    if (!this.buf) this.buf = new Uint8Array(this.capacity);
    const cap = this.capacity;
    let tail = (this.head + this.length) % cap;
    let done = 0;
    while (done < take) {
      const chunk = Math.min(take - done, cap - tail);
      this.buf.set(src.subarray(off + done, off + done + chunk), tail);
      done += chunk;
      tail = (tail + chunk) % cap;
    }
    this.length += take;
    return take;
  }
  /** Copies n bytes starting `offset` bytes after the head into dst[dstOff..]. */
  peek(offset: number, dst: Uint8Array, dstOff: number, n: number): void {
    if (offset < 0 || n < 0 || offset + n > this.length) throw new RangeError('ByteRing.peek out of range');
    const buf = this.buf!;
    const cap = this.capacity;
    let pos = (this.head + offset) % cap;
    let done = 0;
    while (done < n) {
      const chunk = Math.min(n - done, cap - pos);
      dst.set(buf.subarray(pos, pos + chunk), dstOff + done);
      done += chunk;
      pos = (pos + chunk) % cap;
    }
  }
  consume(n: number): void {
    const k = Math.min(n, this.length);
    this.head = (this.head + k) % this.capacity;
    this.length -= k;
    if (this.length === 0) this.head = 0;
  }
}

interface OooSegment {
  seq: number;
  data: Uint8Array;
}

export class TcpSocket {
  state: TcpState = TcpState.CLOSED;
  localAddress: IpAddress;
  localPort = 0;
  remoteAddress: IpAddress;
  remotePort = 0;
  listener: TcpSocketListener | null = null;

  // Send sequence space (RFC 9293 §3.3.1).
  /** @internal */ iss = 0;
  /** @internal */ sndUna = 0;
  /** @internal */ sndNxt = 0;
  /** @internal */ sndWnd = 0;
  /** @internal */ sndWl1 = 0;
  /** @internal */ sndWl2 = 0;
  /** @internal largest window the peer offered (RFC 5961 §5.2 MAX.SND.WND) */ maxSndWnd = 0;
  /** @internal sequence number of sendBuf's first byte */ bufSeq = 0;
  /** @internal effective send MSS (clamped, H35) */ mss = 536;
  // Receive sequence space.
  /** @internal */ irs = 0;
  /** @internal */ rcvNxt = 0;
  /** @internal */ readonly sendBuf: ByteRing;
  /** @internal */ readonly recvBuf: ByteRing;
  /** @internal */ readonly ooo: OooSegment[] = [];
  /** @internal sequence number of a FIN that arrived ahead of a hole */ oooFin: number | undefined;
  /** @internal the application shut down writing: send FIN after the buffered data */ finQueued = false;
  /** @internal */ finSent = false;
  /** @internal */ finReceived = false;
  /** @internal an ACK must go out at the next output */ ackNow = false;
  /** @internal close() was called: the application no longer holds the socket */ orphaned = false;
  /** @internal created by a listener; set until accepted */ parent: import('./listener.js').TcpListener | null = null;
  /** @internal */ readonly rtt: RttEstimator;
  /** @internal retransmission deadline */ rtoAt: Instant = Infinity as Instant;
  /** @internal consecutive retransmissions of the oldest segment */ retries = 0;
  /** @internal TIME-WAIT expiry */ timeWaitAt: Instant = Infinity as Instant;
  /** @internal Karn's rule: the sequence being timed and when it was first sent */ rttSeq: number | undefined;
  /** @internal */ rttStart = 0;
  /** @internal challenge ACK rate limit (RFC 5961 §7): window start and count */ challengeWindow = -Infinity;
  /** @internal */ challengeCount = 0;
  /** @internal key in the module's connection table */ key = '';
  /** @internal last soft ICMP error, reported instead of ETIMEDOUT (Linux sk_err_soft) */ softError: TcpError | undefined;
  /** Segments retransmitted after a timeout. */
  retransmits = 0;
  private pendingError: TcpError | undefined;

  /** @internal use TcpModule.connect() or TcpListener.accept() */
  constructor(
    private readonly tcp: TcpModule,
    readonly family: TcpFamily,
    any: IpAddress,
    sendBufSize: number,
    recvBufSize: number,
  ) {
    this.localAddress = any;
    this.remoteAddress = any;
    this.sendBuf = new ByteRing(sendBufSize);
    this.recvBuf = new ByteRing(recvBufSize);
    this.rtt = new RttEstimator(tcp.options);
  }

  /** Bytes the application can read now. */
  get readableLength(): number {
    return this.recvBuf.length;
  }
  /** The peer sent FIN and everything before it has been read. */
  get eof(): boolean {
    return this.finReceived && this.recvBuf.length === 0;
  }
  /** Room in the send buffer. */
  get writableLength(): number {
    return this.canSend() ? this.sendBuf.free : 0;
  }
  /** Bytes sent but not yet acknowledged plus bytes not yet sent. */
  get bufferedLength(): number {
    return this.sendBuf.length;
  }

  /** @internal */
  canSend(): boolean {
    const s = this.state;
    return !this.finQueued && (s === TcpState.ESTABLISHED || s === TcpState.CLOSE_WAIT || s === TcpState.SYN_SENT || s === TcpState.SYN_RECEIVED);
  }

  /** Queues bytes for sending; returns how many the send buffer took (0 when full), or an error. */
  send(data: Uint8Array, now: Instant): number | TcpError {
    if (this.pendingError) return this.pendingError;
    if (!this.canSend()) return this.state === TcpState.CLOSED || this.state === TcpState.LISTEN ? 'ENOTCONN' : 'EPIPE';
    const n = this.sendBuf.write(data, 0, data.length);
    if (n > 0) this.tcp.output(this, now);
    return n;
  }

  /** Takes up to `max` received bytes (an owned copy); null when none are available. Reading reopens the window. */
  recv(max: number, now: Instant): Uint8Array | null {
    const n = Math.min(max, this.recvBuf.length);
    if (n <= 0) return null;
    const out = new Uint8Array(n);
    const before = this.tcp.windowToAdvertise(this);
    this.recvBuf.peek(0, out, 0, n);
    this.recvBuf.consume(n);
    // Window update (RFC 9293 §3.8.6.2.2, receiver-side SWS avoidance): announce only a useful opening.
    const after = this.tcp.windowToAdvertise(this);
    if (after - before >= Math.min(this.mss, this.recvBuf.capacity >>> 1)) {
      if (this.state !== TcpState.CLOSED && this.state !== TcpState.SYN_SENT && this.state !== TcpState.TIME_WAIT) {
        this.ackNow = true;
        this.tcp.output(this, now);
      }
    }
    return out;
  }

  /** shutdown(SHUT_WR): a FIN follows the buffered data (RFC 9293 §3.10.4). */
  shutdown(now: Instant): TcpError | undefined {
    if (this.state === TcpState.CLOSED || this.state === TcpState.LISTEN) return 'ENOTCONN';
    if (this.finQueued) return undefined;
    if (this.state === TcpState.SYN_SENT) {
      this.tcp.destroy(this, undefined);
      return undefined;
    }
    this.finQueued = true;
    this.tcp.output(this, now);
    return undefined;
  }

  /** Closes the socket: FIN after the data, or RST when unread data would be lost (RFC 9293 §3.10.4, RFC 2525 §2.17). */
  close(now: Instant): void {
    if (this.orphaned) return;
    this.orphaned = true;
    this.listener = null;
    if (this.state === TcpState.FIN_WAIT_2) this.tcp.enterFinWait2(this, now);
    if (this.state === TcpState.CLOSED) return;
    if (this.recvBuf.length > 0 || this.state === TcpState.SYN_SENT) {
      this.abort(now);
      return;
    }
    this.shutdown(now);
  }

  /** Sends RST (in synchronized states) and releases the connection at once (RFC 9293 §3.10.5). */
  abort(now: Instant): void {
    this.tcp.abort(this, now);
  }

  /** The pending asynchronous error, cleared by the call. */
  takeError(): TcpError | undefined {
    const e = this.pendingError;
    this.pendingError = undefined;
    return e;
  }
  /** @internal */
  setError(e: TcpError): void {
    this.pendingError = e;
    this.listener?.error?.();
  }

  /** @internal In-order bytes arriving at RCV.NXT; returns the count taken. */
  deliver(src: Uint8Array, off: number, n: number): number {
    const took = this.recvBuf.write(src, off, n);
    if (took > 0) this.listener?.readable?.();
    return took;
  }

  /** @internal Keeps an out-of-order segment (already trimmed to the window); false when the hole cap is reached. */
  oooInsert(seq: number, src: Uint8Array, off: number, n: number, maxHoles: number): boolean {
    let i = 0;
    while (i < this.ooo.length && seqLe(this.ooo[i]!.seq, seq)) i++;
    const prev = this.ooo[i - 1];
    // Entirely covered by the previous segment: nothing new.
    if (prev && seqLe((seq + n) >>> 0, (prev.seq + prev.data.length) >>> 0)) return true;
    if (this.ooo.length >= maxHoles) return false;
    this.ooo.splice(i, 0, { seq, data: src.slice(off, off + n) });
    return true;
  }

  /** @internal Moves queued segments that now start at or before RCV.NXT into the receive buffer. */
  oooDrain(): void {
    while (this.ooo.length > 0) {
      const first = this.ooo[0]!;
      const skip = seqDiff(this.rcvNxt, first.seq);
      if (skip < 0) break;
      this.ooo.shift();
      if (skip < first.data.length) {
        const n = this.deliver(first.data, skip, first.data.length - skip);
        this.rcvNxt = (this.rcvNxt + n) >>> 0;
      }
    }
  }

  /** Bytes held in the out-of-order queue. */
  get oooBytes(): number {
    let n = 0;
    for (const s of this.ooo) n += s.data.length;
    return n;
  }
}
