// TCP timers: the retransmission timeout estimator of RFC 6298 (SRTT/RTTVAR, Karn's rule is applied
// by the caller, which only samples segments sent once; exponential backoff on expiry) and the
// per-socket timer handling run from the module's poll (retransmission, retry limit → ETIMEDOUT,
// TIME-WAIT expiry). What it does not do yet: persist, keepalive, delayed-ACK and user timeouts.

import { Duration, type Instant } from '../../time/instant.js';
import type { TcpModule } from './module.js';
import { TcpState, type TcpSocket } from './tcb.js';

export interface RtoOptions {
  /** Initial RTO before any sample (RFC 6298 §2.1: 1 s). */
  readonly rtoInitialMs: number;
  /** Lower bound (RFC 6298 §2.4 says 1 s; Linux uses 200 ms). */
  readonly rtoMinMs: number;
  /** Upper bound after backoff (RFC 6298 §2.5: at least 60 s). */
  readonly rtoMaxMs: number;
}

/** RFC 6298 §2: all values in microseconds. */
export class RttEstimator {
  srtt = 0;
  rttvar = 0;
  /** Current RTO including backoff. */
  rto: number;
  private base: number;
  private hasSample = false;
  constructor(private readonly o: RtoOptions) {
    this.rto = o.rtoInitialMs * 1000;
    this.base = this.rto;
  }
  /** RFC 6298 §2.2 / §2.3 with G = 1 ms. */
  sample(r: number): void {
    if (!this.hasSample) {
      this.srtt = r;
      this.rttvar = r / 2;
      this.hasSample = true;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.base = this.clamp(this.srtt + Math.max(1000, 4 * this.rttvar));
    this.rto = this.base;
  }
  /** RFC 6298 §5.5: double on expiry. */
  backoff(): void {
    this.rto = this.clamp(this.rto * 2);
  }
  /** A new ACK clears the backoff (RFC 6298 §5.7 keeps the estimate). */
  resetBackoff(): void {
    this.rto = this.base;
  }
  private clamp(v: number): number {
    return Math.min(this.o.rtoMaxMs * 1000, Math.max(this.o.rtoMinMs * 1000, Math.round(v)));
  }
}

/** (Re)arms the retransmission timer (RFC 6298 §5.1, §5.3). */
export function armRto(s: TcpSocket, now: Instant): void {
  s.rtoAt = (now + Duration.micros(s.rtt.rto)) as Instant;
}

export function stopRto(s: TcpSocket): void {
  s.rtoAt = Infinity as Instant;
}

/** Earliest deadline of one socket. */
export function socketPollAt(s: TcpSocket): Instant {
  return (s.rtoAt < s.timeWaitAt ? s.rtoAt : s.timeWaitAt);
}

/** Runs the socket's due timers. */
export function socketPoll(tcp: TcpModule, s: TcpSocket, now: Instant): void {
  if (s.timeWaitAt <= now) {
    s.timeWaitAt = Infinity as Instant;
    if (s.state === TcpState.TIME_WAIT) {
      tcp.ctx.stats.count('tcp', 'time_wait_expired');
      tcp.destroy(s, undefined);
      return;
    }
    if (s.state === TcpState.FIN_WAIT_2 && s.orphaned) {
      tcp.ctx.stats.count('tcp', 'fin_wait_2_timeout');
      tcp.destroy(s, undefined);
      return;
    }
  }
  if (s.rtoAt <= now) {
    const limit = s.state === TcpState.SYN_SENT || s.state === TcpState.SYN_RECEIVED ? tcp.options.synRetries : tcp.options.maxRetries;
    if (s.retries >= limit) {
      tcp.ctx.stats.count('tcp', 'timeout_abort');
      // RFC 9293 §3.8.3 R2: give up. A half-open passive connection just disappears.
      if (s.state !== TcpState.SYN_SENT && s.state !== TcpState.SYN_RECEIVED) tcp.sendRst(s, s.sndNxt, now);
      tcp.destroy(s, s.softError ?? 'ETIMEDOUT');
      return;
    }
    s.retries++;
    s.retransmits++;
    tcp.ctx.stats.count('tcp', 'rto_retransmit');
    s.rtt.backoff();
    s.rttSeq = undefined; // Karn: never time a retransmitted segment
    tcp.retransmit(s, now);
    armRto(s, now);
  }
}
