// TCP listener (RFC 9293 §3.10.7.2 LISTEN): a SYN backlog of half-open children in SYN-RECEIVED
// and an accept queue of established ones, together bounded by `backlog`; a SYN beyond it is dropped
// (the peer retries). RSTs are ignored, ACKs answered with RST. Children allocate no buffer storage
// until data flows (ByteRing is lazy). SYN cookies come later.

import type { Instant } from '../../time/instant.js';
import type { TcpPacket } from '../../wire/tcp.js';
import { TcpFlags } from '../../wire/tcp.js';
import type { TcpModule } from './module.js';
import { seqAdd } from './seq.js';
import { TcpState, type IpAddress, type TcpFamily, type TcpSocket } from './tcb.js';
import { armRto } from './timers.js';

const { SYN, RST, ACK } = TcpFlags;

export interface TcpListenerEvents {
  /** A connection is waiting in the accept queue. */
  connection?(): void;
}

export class TcpListener {
  listener: TcpListenerEvents | null = null;
  /** @internal half-open children */ readonly synQueue = new Set<TcpSocket>();
  /** @internal established, not yet accepted */ readonly acceptQueue: TcpSocket[] = [];
  closed = false;

  /** @internal use TcpModule.listen() */
  constructor(
    private readonly tcp: TcpModule,
    readonly family: TcpFamily,
    readonly localAddress: IpAddress,
    readonly localPort: number,
    readonly backlog: number,
  ) {}

  /** The next established connection, if any. */
  accept(): TcpSocket | undefined {
    const s = this.acceptQueue.shift();
    if (s) s.parent = null;
    return s;
  }

  /** Stops listening; connections not yet accepted are reset. */
  close(now: Instant): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.synQueue, ...this.acceptQueue]) s.abort(now);
    this.synQueue.clear();
    this.acceptQueue.length = 0;
    this.tcp.unlisten(this);
  }

  /** @internal a child finished the handshake */
  childEstablished(s: TcpSocket): void {
    this.synQueue.delete(s);
    this.acceptQueue.push(s);
    this.listener?.connection?.();
  }

  /** @internal a child went away before accept() */
  childGone(s: TcpSocket): void {
    this.synQueue.delete(s);
    const i = this.acceptQueue.indexOf(s);
    if (i >= 0) this.acceptQueue.splice(i, 1);
  }

  /** @internal RFC 9293 §3.10.7.2 */
  input(p: TcpPacket, local: IpAddress, remote: IpAddress, mss: number | undefined, now: Instant): void {
    const stats = this.tcp.ctx.stats;
    const f = p.flags;
    if (f & RST) return stats.drop('tcp', 'listen_rst');
    if (f & ACK) {
      this.tcp.rstReply(this.family, local, remote, p, now);
      return;
    }
    if (!(f & SYN)) return stats.drop('tcp', 'listen_no_syn');
    if (this.synQueue.size + this.acceptQueue.length >= this.backlog) return stats.drop('tcp', 'listen_backlog_full');
    const s = this.tcp.newSocket(this.family);
    s.localAddress = local;
    s.localPort = this.localPort;
    s.remoteAddress = remote;
    s.remotePort = p.srcPort;
    s.parent = this;
    s.irs = p.seqNumber;
    s.rcvNxt = seqAdd(s.irs, 1);
    s.iss = this.tcp.isn(s, now);
    s.sndUna = s.iss;
    s.sndNxt = seqAdd(s.iss, 1);
    s.bufSeq = s.sndNxt;
    s.sndWnd = p.window;
    s.maxSndWnd = p.window;
    s.sndWl1 = s.irs;
    this.tcp.applyPeerMss(s, mss);
    s.state = TcpState.SYN_RECEIVED;
    this.tcp.register(s);
    this.synQueue.add(s);
    stats.count('tcp', 'passive_open');
    this.tcp.emit(s, s.iss, SYN | ACK, 0, 0, now);
    s.rttSeq = s.sndNxt;
    s.rttStart = now;
    armRto(s, now);
  }
}
