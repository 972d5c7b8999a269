// TCP output (RFC 9293 §3.10.4 SEND, §3.8.6 windows): decides what segments a connection sends now
// — SYN or SYN-ACK, data within the peer's window and the effective MSS, FIN after the data, a bare
// ACK when one is owed — and emits them through the module's network seam. Retransmission on
// timeout resends the oldest unacknowledged segment (or a one-byte zero-window probe). Sender-side
// silly window avoidance holds back small segments the window forces. No Nagle,
// congestion window or delayed ACK yet: every call sends what the window allows and ACKs at once.

import type { Instant } from '../../time/instant.js';
import { TcpFlags } from '../../wire/tcp.js';
import type { TcpModule } from './module.js';
import { seqAdd, seqDiff } from './seq.js';
import { TcpState, type TcpSocket } from './tcb.js';
import { armRto } from './timers.js';

const { SYN, FIN, ACK, PSH } = TcpFlags;

/** Data bytes sent but not yet acknowledged. */
function inFlightData(s: TcpSocket): number {
  const sent = seqDiff(s.sndNxt, s.bufSeq) - (s.finSent ? 1 : 0);
  return Math.max(0, Math.min(sent, s.sendBuf.length));
}

/** Sends whatever the state and windows allow now. */
export function output(tcp: TcpModule, s: TcpSocket, now: Instant): void {
  const st = s.state;
  let sent = false;
  const dataStates = st === TcpState.ESTABLISHED || st === TcpState.CLOSE_WAIT || ((st === TcpState.FIN_WAIT_1 || st === TcpState.LAST_ACK || st === TcpState.CLOSING) && !s.finSent);
  if (dataStates) {
    for (;;) {
      const off = inFlightData(s);
      const unsent = s.sendBuf.length - off;
      const win = seqDiff(seqAdd(s.sndUna, s.sndWnd), s.sndNxt);
      const n = Math.min(s.mss, unsent, win);
      if (n <= 0) break;
      // Sender SWS avoidance (RFC 9293 §3.8.6.2.1, E9): a full MSS, everything queued, or half the
      // largest window seen; otherwise wait for the window to open (the persist probe overrides).
      if (n < s.mss && n < unsent && n < s.maxSndWnd / 2) {
        tcp.ctx.stats.count('tcp', 'sws_deferred');
        break;
      }
      const last = n === unsent;
      tcp.emit(s, s.sndNxt, ACK | (last ? PSH : 0), off, n, now);
      s.sndNxt = seqAdd(s.sndNxt, n);
      sent = true;
      if (s.rttSeq === undefined) {
        s.rttSeq = s.sndNxt;
        s.rttStart = now;
      }
      if (s.rtoAt === Infinity) armRto(s, now);
    }
    const unsent = s.sendBuf.length - inFlightData(s);
    if (s.finQueued && !s.finSent && unsent === 0) {
      tcp.emit(s, s.sndNxt, FIN | ACK, 0, 0, now);
      s.finSent = true;
      s.sndNxt = seqAdd(s.sndNxt, 1);
      sent = true;
      if (s.state === TcpState.ESTABLISHED) s.state = TcpState.FIN_WAIT_1;
      else if (s.state === TcpState.CLOSE_WAIT) s.state = TcpState.LAST_ACK;
      if (s.rtoAt === Infinity) armRto(s, now);
    }
    // Zero window with data waiting: the retransmission timer doubles as the persist timer (probe).
    if (unsent > 0 && s.rtoAt === Infinity) armRto(s, now);
  }
  if (s.ackNow && !sent && st !== TcpState.SYN_SENT && st !== TcpState.CLOSED && st !== TcpState.LISTEN) {
    tcp.emit(s, s.sndNxt, ACK, 0, 0, now);
  }
  s.ackNow = false;
}

/** RFC 6298 §5.4: retransmit the earliest unacknowledged segment (or probe a zero window). */
export function retransmit(tcp: TcpModule, s: TcpSocket, now: Instant): void {
  switch (s.state) {
    case TcpState.SYN_SENT:
      tcp.emit(s, s.iss, SYN, 0, 0, now);
      return;
    case TcpState.SYN_RECEIVED:
      tcp.emit(s, s.iss, SYN | ACK, 0, 0, now);
      return;
    case TcpState.CLOSED:
    case TcpState.LISTEN:
    case TcpState.TIME_WAIT:
    case TcpState.FIN_WAIT_2:
      return;
    default:
  }
  const flight = inFlightData(s);
  if (flight > 0) {
    const n = Math.min(s.mss, flight);
    const fin = s.finSent && n === s.sendBuf.length;
    tcp.emit(s, s.bufSeq, ACK | PSH | (fin ? FIN : 0), 0, n, now);
    return;
  }
  if (s.finSent) {
    tcp.emit(s, seqAdd(s.bufSeq, s.sendBuf.length), FIN | ACK, 0, 0, now);
    return;
  }
  if (s.sendBuf.length > 0) {
    // Zero-window probe (RFC 9293 §3.8.6.1): one new byte beyond the window.
    tcp.emit(s, s.sndNxt, ACK | PSH, 0, 1, now);
    s.sndNxt = seqAdd(s.sndNxt, 1);
    tcp.ctx.stats.count('tcp', 'zero_window_probe');
  }
}
