// TCP input for a connection (RFC 9293 §3.10.7.3 SYN-SENT and §3.10.7.4 other states), with the
// RFC 5961 hardening: RST accepted only at exactly RCV.NXT (in-window otherwise earns a rate-limited
// challenge ACK, §3.2), SYN in a synchronized state earns a challenge ACK (§4.2), ACKs outside
// [SND.UNA - MAX.SND.WND, SND.NXT] are not accepted (§5.2). Segments without ACK, SYN+FIN and
// SYN+RST are dropped (H42); urgent data is treated as inline data (RFC 6093, H36). LISTEN lives in
// listener.ts; segments to no connection are answered by the module.

import type { Instant } from '../../time/instant.js';
import type { TcpPacket } from '../../wire/tcp.js';
import { TcpFlags } from '../../wire/tcp.js';
import type { TcpModule } from './module.js';
import { seqAdd, seqDiff, seqGt, seqInRange, seqLe, seqLt } from './seq.js';
import { TcpState, type TcpSocket } from './tcb.js';
import { armRto, stopRto } from './timers.js';

const { SYN, FIN, RST, ACK } = TcpFlags;

/** RFC 9293 §3.10.7.3: a segment for a connection in SYN-SENT. */
function synSent(tcp: TcpModule, s: TcpSocket, p: TcpPacket, mss: number | undefined, now: Instant): void {
  const f = p.flags;
  const seq = p.seqNumber;
  const ack = p.ackNumber;
  if (f & ACK) {
    if (seqLe(ack, s.iss) || seqGt(ack, s.sndNxt)) {
      if (!(f & RST)) tcp.sendRstTo(s, ack, now);
      tcp.ctx.stats.drop('tcp', 'syn_sent_bad_ack');
      return;
    }
  }
  if (f & RST) {
    if (f & ACK) tcp.destroy(s, 'ECONNREFUSED');
    else tcp.ctx.stats.drop('tcp', 'syn_sent_rst_without_ack');
    return;
  }
  if (!(f & SYN)) return tcp.ctx.stats.drop('tcp', 'syn_sent_no_syn');
  s.irs = seq;
  s.rcvNxt = seqAdd(seq, 1);
  tcp.applyPeerMss(s, mss);
  s.sndWnd = p.window;
  s.maxSndWnd = p.window;
  s.sndWl1 = seq;
  s.sndWl2 = ack;
  if (f & ACK) {
    s.sndUna = ack;
    s.bufSeq = ack;
    s.retries = 0;
    if (s.rttSeq !== undefined) {
      s.rtt.sample(now - s.rttStart);
      s.rttSeq = undefined;
    }
    s.rtt.resetBackoff();
    stopRto(s);
    s.state = TcpState.ESTABLISHED;
    tcp.ctx.stats.count('tcp', 'active_open');
    s.ackNow = true;
    s.listener?.connected?.();
    tcp.output(s, now);
    return;
  }
  // Simultaneous open (RFC 9293 §3.10.7.3 fifth check): SYN-RECEIVED, answer SYN-ACK.
  s.state = TcpState.SYN_RECEIVED;
  tcp.emit(s, s.iss, SYN | ACK, 0, 0, now);
  armRto(s, now);
}

/** RFC 9293 §3.10.7.4 first check: is the segment acceptable for RCV.NXT / RCV.WND? */
function acceptable(seq: number, segLen: number, rcvNxt: number, rcvWnd: number): boolean {
  if (segLen === 0) return rcvWnd === 0 ? seq === rcvNxt : seqInRange(seq, rcvNxt, seqAdd(rcvNxt, rcvWnd));
  if (rcvWnd === 0) return false;
  const end = seqAdd(rcvNxt, rcvWnd);
  return seqInRange(seq, rcvNxt, end) || seqInRange(seqAdd(seq, segLen - 1), rcvNxt, end);
}

/** Processes one segment for `s` (not LISTEN). `mss` is the parsed MSS option, if any. */
export function segmentArrives(tcp: TcpModule, s: TcpSocket, p: TcpPacket, mss: number | undefined, now: Instant): void {
  const stats = tcp.ctx.stats;
  if (s.state === TcpState.SYN_SENT) return synSent(tcp, s, p, mss, now);
  const f = p.flags;
  const seq = p.seqNumber;
  const segLen = p.segmentLength;
  const rcvWnd = tcp.windowToAdvertise(s);

  // A retransmitted SYN while our SYN-ACK is outstanding (it was lost): answer it again.
  if (s.state === TcpState.SYN_RECEIVED && (f & (SYN | ACK | RST)) === SYN && seq === s.irs) {
    stats.count('tcp', 'syn_retransmit_received');
    tcp.emit(s, s.iss, SYN | ACK, 0, 0, now);
    return;
  }
  // First: sequence number check.
  if (!acceptable(seq, segLen, s.rcvNxt, rcvWnd)) {
    if (f & RST) return stats.drop('tcp', 'rst_out_of_window');
    stats.drop('tcp', 'out_of_window');
    if (s.state === TcpState.TIME_WAIT && f & FIN) s.timeWaitAt = (now + tcp.options.timeWaitMs * 1000) as Instant;
    s.ackNow = true;
    tcp.output(s, now);
    return;
  }
  // Second: RST (RFC 5961 §3.2).
  if (f & RST) {
    if (seq !== s.rcvNxt) return tcp.challengeAck(s, now, 'rst_in_window');
    stats.count('tcp', 'rst_received');
    const st = s.state;
    // RFC 1337 (TIME-WAIT assassination hazards): a RST in TIME-WAIT is ignored (E10).
    if (st === TcpState.TIME_WAIT) return stats.drop('tcp', 'rst_in_time_wait');
    const quiet = st === TcpState.CLOSING || st === TcpState.LAST_ACK;
    if (st === TcpState.SYN_RECEIVED && s.parent) return tcp.destroy(s, undefined);
    tcp.destroy(s, quiet ? undefined : st === TcpState.SYN_RECEIVED ? 'ECONNREFUSED' : 'ECONNRESET');
    return;
  }
  // Fourth: SYN in a synchronized state (RFC 5961 §4.2): challenge ACK.
  if (f & SYN) return tcp.challengeAck(s, now, 'syn_in_window');
  // Fifth: no ACK, drop (H42).
  if (!(f & ACK)) return stats.drop('tcp', 'no_ack');
  const ack = p.ackNumber;
  if (s.state === TcpState.SYN_RECEIVED) {
    if (!(seqLt(s.sndUna, ack) && seqLe(ack, s.sndNxt))) {
      tcp.sendRstTo(s, ack, now);
      return stats.drop('tcp', 'syn_received_bad_ack');
    }
    s.state = TcpState.ESTABLISHED;
    s.sndWnd = p.window;
    s.maxSndWnd = p.window;
    s.sndWl1 = seq;
    s.sndWl2 = ack;
    tcp.established(s);
  }
  // RFC 5961 §5.2 ACK acceptance range.
  if (seqGt(ack, s.sndNxt)) {
    stats.drop('tcp', 'ack_beyond_snd_nxt');
    s.ackNow = true;
    tcp.output(s, now);
    return;
  }
  if (seqLt(ack, seqAdd(s.sndUna, -s.maxSndWnd))) {
    stats.drop('tcp', 'ack_too_old');
    s.ackNow = true;
    tcp.output(s, now);
    return;
  }
  if (seqGt(ack, s.sndUna)) {
    const acked = seqDiff(ack, s.bufSeq);
    if (acked > 0) {
      const data = Math.min(acked, s.sendBuf.length);
      s.sendBuf.consume(data);
      s.bufSeq = seqAdd(s.bufSeq, data);
      if (data > 0) s.listener?.writable?.();
    }
    s.sndUna = ack;
    s.retries = 0;
    if (s.rttSeq !== undefined && seqLe(s.rttSeq, ack)) {
      s.rtt.sample(now - s.rttStart);
      s.rttSeq = undefined;
    }
    s.rtt.resetBackoff();
    if (s.sndUna === s.sndNxt) stopRto(s);
    else armRto(s, now);
  }
  // Send window update (RFC 9293 §3.10.7.4, SND.WL1/SND.WL2).
  if (seqLt(s.sndWl1, seq) || (s.sndWl1 === seq && seqLe(s.sndWl2, ack))) {
    s.sndWnd = p.window;
    if (p.window > s.maxSndWnd) s.maxSndWnd = p.window;
    s.sndWl1 = seq;
    s.sndWl2 = ack;
  }
  const finAcked = s.finSent && s.sndUna === s.sndNxt;
  switch (s.state) {
    case TcpState.FIN_WAIT_1:
      if (finAcked) tcp.enterFinWait2(s, now);
      break;
    case TcpState.CLOSING:
      if (finAcked) tcp.enterTimeWait(s, now);
      break;
    case TcpState.LAST_ACK:
      if (finAcked) return tcp.destroy(s, undefined);
      break;
    default:
  }
  // Seventh: segment text (ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2).
  const st = s.state;
  const recvOpen = st === TcpState.ESTABLISHED || st === TcpState.FIN_WAIT_1 || st === TcpState.FIN_WAIT_2;
  let plen = p.payloadLength;
  if (plen > 0 && recvOpen && !s.finReceived) {
    let off = p.payloadOffset;
    let dseq = seq;
    const skip = seqDiff(s.rcvNxt, dseq);
    if (skip > 0) {
      off += skip;
      plen -= skip;
      dseq = s.rcvNxt;
    }
    const room = seqDiff(seqAdd(s.rcvNxt, rcvWnd), dseq);
    if (plen > room) plen = Math.max(0, room);
    if (plen > 0) {
      if (dseq === s.rcvNxt) {
        const n = s.deliver(p.buf, off, plen);
        s.rcvNxt = seqAdd(s.rcvNxt, n);
        s.oooDrain();
        stats.count('tcp', 'rx_data_segments');
      } else if (!s.oooInsert(dseq, p.buf, off, plen, tcp.options.maxOooSegments)) {
        stats.drop('tcp', 'ooo_queue_full');
      } else stats.count('tcp', 'rx_out_of_order');
    }
    s.ackNow = true;
  } else if (plen > 0) {
    stats.drop('tcp', 'data_after_fin');
  }
  // Eighth: FIN.
  if (f & FIN) {
    const finSeq = seqAdd(seq, p.payloadLength);
    if (recvOpen && !s.finReceived) {
      if (finSeq === s.rcvNxt) processFin(tcp, s, now);
      else s.oooFin = finSeq;
    } else if (st === TcpState.TIME_WAIT) {
      // A retransmitted FIN: ACK it and restart the 2 MSL timer (RFC 9293 §3.10.7.4).
      s.timeWaitAt = (now + tcp.options.timeWaitMs * 1000) as Instant;
    }
    s.ackNow = true;
  } else if (s.oooFin !== undefined && s.oooFin === s.rcvNxt && !s.finReceived) {
    processFin(tcp, s, now);
  }
  if (s.state !== TcpState.CLOSED) tcp.output(s, now);
}

function processFin(tcp: TcpModule, s: TcpSocket, now: Instant): void {
  s.finReceived = true;
  s.oooFin = undefined;
  s.rcvNxt = seqAdd(s.rcvNxt, 1);
  s.ackNow = true;
  switch (s.state) {
    case TcpState.ESTABLISHED:
      s.state = TcpState.CLOSE_WAIT;
      break;
    case TcpState.FIN_WAIT_1:
      if (s.finSent && s.sndUna === s.sndNxt) tcp.enterTimeWait(s, now);
      else s.state = TcpState.CLOSING;
      break;
    case TcpState.FIN_WAIT_2:
      tcp.enterTimeWait(s, now);
      break;
    default:
  }
  s.listener?.readable?.();
}
