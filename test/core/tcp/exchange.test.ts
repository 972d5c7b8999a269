// Scripted exchanges for the RFC 9293 §3.10 state machine and the RFC 5961 hardening (H37, H38,
// H40, H42, H35), driven segment by segment against one stack with a fake clock.
import { describe, expect, it } from 'vitest';
import { TcpState } from '../../../src/core/tcp/module.js';
import { ACK, FIN, PSH, RST, SYN, TcpScript, bytes, text, PEER } from '../../support/tcp-script.js';

describe('TCP handshake (RFC 9293 §3.5, §3.10.7)', () => {
  it('listen_syn_synack_then_ack_established_§3.10.7.2', () => {
    const t = new TcpScript();
    const { s, hostIsn } = t.established({ peerIsn: 0xffffff00 });
    expect(s.state).toBe(TcpState.ESTABLISHED);
    expect(s.remoteAddress).toBe(PEER);
    expect(s.remotePort).toBe(40000);
    expect(hostIsn).toBeGreaterThanOrEqual(0);
    t.done();
  });

  it('listen_syn_synack_carries_mss_and_window_§3.7.1', () => {
    const t = new TcpScript();
    const l = t.tcp.listen(4, null, 80) as Exclude<ReturnType<typeof t.tcp.listen>, string>;
    t.send({ flags: SYN, seq: 1, mss: 1460 });
    t.expectOne({ flags: SYN | ACK, ack: 2, mss: 1460, window: 65535 });
    l.close(t.now);
    t.done();
  });

  it('listen_ack_rst_seq_from_ack_§3.10.7.2', () => {
    const t = new TcpScript();
    t.tcp.listen(4, null, 80);
    t.send({ flags: ACK, seq: 7, ack: 12345 });
    t.expectOne({ flags: RST, seq: 12345 });
    t.send({ flags: RST, seq: 7 });
    t.expectNothing();
    t.done();
  });

  it('listen_backlog_full_syn_dropped_§3.10.7.2', () => {
    const t = new TcpScript();
    t.tcp.listen(4, null, 80, 2);
    t.send({ flags: SYN, seq: 1, sport: 1001 });
    t.send({ flags: SYN, seq: 1, sport: 1002 });
    t.send({ flags: SYN, seq: 1, sport: 1003 });
    expect(t.take()).toHaveLength(2);
    expect(t.host.stack.stats.drops('tcp', 'listen_backlog_full')).toBe(1);
    t.done();
  });

  it('synsent_synack_established_§3.10.7.3', () => {
    const t = new TcpScript();
    let connected = 0;
    const { s } = t.connected();
    s.listener = { connected: () => connected++ };
    expect(s.state).toBe(TcpState.ESTABLISHED);
    t.done();
  });

  it('synsent_rst_ack_econnrefused_§3.10.7.3', () => {
    const t = new TcpScript();
    const s = t.tcp.connect(4, PEER, 9000, t.now);
    if (typeof s === 'string') throw new Error(s);
    const syn = t.expectOne({ flags: SYN });
    t.send({ sport: 9000, dport: syn.sport, flags: RST | ACK, seq: 0, ack: syn.seq + 1 });
    expect(s.state).toBe(TcpState.CLOSED);
    expect(s.takeError()).toBe('ECONNREFUSED');
    t.done();
  });

  it('synsent_bad_ack_rst_and_stays_§3.10.7.3', () => {
    const t = new TcpScript();
    const s = t.tcp.connect(4, PEER, 9000, t.now);
    if (typeof s === 'string') throw new Error(s);
    const syn = t.expectOne({ flags: SYN });
    t.send({ sport: 9000, dport: syn.sport, flags: SYN | ACK, seq: 1, ack: syn.seq + 100 });
    t.expectOne({ flags: RST, seq: syn.seq + 100 });
    expect(s.state).toBe(TcpState.SYN_SENT);
    s.abort(t.now);
    t.done();
  });

  it('synsent_syn_simultaneous_open_synreceived_then_established_§3.10.7.3', () => {
    const t = new TcpScript();
    const s = t.tcp.connect(4, PEER, 9000, t.now);
    if (typeof s === 'string') throw new Error(s);
    const syn = t.expectOne({ flags: SYN });
    t.send({ sport: 9000, dport: syn.sport, flags: SYN, seq: 777, mss: 1000 });
    t.expectOne({ flags: SYN | ACK, seq: syn.seq, ack: 778 });
    expect(s.state).toBe(TcpState.SYN_RECEIVED);
    t.send({ sport: 9000, dport: syn.sport, flags: ACK, seq: 778, ack: syn.seq + 1 });
    expect(s.state).toBe(TcpState.ESTABLISHED);
    s.abort(t.now);
    t.done();
  });

  it('synsent_no_answer_retransmits_with_backoff_then_etimedout_rfc6298_§5.5', () => {
    const t = new TcpScript({ synRetries: 3, rtoInitialMs: 1000 });
    const s = t.tcp.connect(4, PEER, 9000, t.now);
    if (typeof s === 'string') throw new Error(s);
    const syn = t.expectOne({ flags: SYN });
    t.advance(999);
    t.expectNothing();
    t.advance(1);
    t.expectOne({ flags: SYN, seq: syn.seq });
    t.advance(1999);
    t.expectNothing();
    t.advance(1);
    t.expectOne({ flags: SYN, seq: syn.seq });
    t.advance(4000);
    t.expectOne({ flags: SYN, seq: syn.seq });
    expect(s.state).toBe(TcpState.SYN_SENT);
    t.advance(8000);
    t.expectNothing();
    expect(s.state).toBe(TcpState.CLOSED);
    expect(s.takeError()).toBe('ETIMEDOUT');
    t.done();
  });
});

describe('TCP data transfer (RFC 9293 §3.10.7.4)', () => {
  it('established_data_in_order_delivered_and_acked_§3.10.7.4', () => {
    const t = new TcpScript();
    const { s, peerNxt, hostNxt } = t.established();
    t.send({ flags: ACK | PSH, seq: peerNxt, ack: hostNxt, payload: bytes('hello') });
    t.expectOne({ flags: ACK, seq: hostNxt, ack: peerNxt + 5, window: 65535 - 5 });
    expect(text(s.recv(100, t.now))).toBe('hello');
    t.done();
  });

  it('established_recv_reopens_window_credit_based_§3.8.6.2.2', () => {
    const t = new TcpScript({ recvBufferSize: 2000 });
    const { s, peerNxt, hostNxt } = t.established();
    t.send({ flags: ACK, seq: peerNxt, ack: hostNxt, payload: new Uint8Array(1000) });
    t.expectOne({ flags: ACK, ack: peerNxt + 1000, window: 1000 });
    t.send({ flags: ACK, seq: peerNxt + 1000, ack: hostNxt, payload: new Uint8Array(1000) });
    t.expectOne({ flags: ACK, ack: peerNxt + 2000, window: 0 });
    // Zero window: more data is not accepted (RFC 9293 §3.10.7.4 acceptability with RCV.WND = 0).
    t.send({ flags: ACK, seq: peerNxt + 2000, ack: hostNxt, payload: new Uint8Array(10) });
    t.expectOne({ flags: ACK, ack: peerNxt + 2000, window: 0 });
    expect(s.readableLength).toBe(2000);
    expect(s.recv(100, t.now)?.length).toBe(100);
    t.expectNothing(); // 100 bytes of credit is not worth announcing (receiver SWS avoidance)
    expect(s.recv(10_000, t.now)?.length).toBe(1900);
    t.expectOne({ flags: ACK, ack: peerNxt + 2000, window: 2000 });
    t.done();
  });

  it('established_zero_window_probe_then_window_opens_§3.8.6.1', () => {
    const t = new TcpScript({ rtoMinMs: 200 });
    const { s, peerNxt, hostNxt } = t.established({ window: 0 });
    expect(s.send(bytes('abc'), t.now)).toBe(3);
    t.expectNothing();
    t.advance(200);
    t.expectOne({ flags: ACK | PSH, seq: hostNxt, payloadLen: 1 });
    t.send({ flags: ACK, seq: peerNxt, ack: hostNxt + 1, window: 1000 });
    t.expectOne({ flags: ACK | PSH, seq: hostNxt + 1, payloadLen: 2 });
    t.send({ flags: ACK, seq: peerNxt, ack: hostNxt + 3, window: 1000 });
    expect(s.bufferedLength).toBe(0);
    t.done();
  });

  it('established_out_of_order_then_fill_delivers_all_§3.10.7.4', () => {
    const t = new TcpScript();
    const { s, peerNxt, hostNxt } = t.established();
    t.send({ flags: ACK, seq: peerNxt + 3, ack: hostNxt, payload: bytes('def') });
    t.expectOne({ flags: ACK, ack: peerNxt });
    t.send({ flags: ACK, seq: peerNxt + 6, ack: hostNxt, payload: bytes('ghi') });
    t.expectOne({ flags: ACK, ack: peerNxt });
    expect(s.readableLength).toBe(0);
    expect(s.oooBytes).toBe(6);
    t.send({ flags: ACK, seq: peerNxt, ack: hostNxt, payload: bytes('abc') });
    t.expectOne({ flags: ACK, ack: peerNxt + 9 });
    expect(text(s.recv(100, t.now))).toBe('abcdefghi');
    expect(s.oooBytes).toBe(0);
    t.done();
  });

  it('established_out_of_order_hole_cap_drops_excess_E5', () => {
    const t = new TcpScript({ maxOooSegments: 2 });
    const { s, peerNxt, hostNxt } = t.established();
    for (let i = 1; i <= 4; i++) t.send({ flags: ACK, seq: peerNxt + 10 * i, ack: hostNxt, payload: new Uint8Array(5) });
    expect(s.oooBytes).toBe(10);
    expect(t.host.stack.stats.drops('tcp', 'ooo_queue_full')).toBe(2);
    t.take();
    t.done();
  });

  it('established_send_segments_by_mss_and_ack_frees_buffer_§3.8.6', () => {
    const t = new TcpScript();
    const { s, peerNxt, hostNxt } = t.established({ mss: 1000 });
    expect(s.send(new Uint8Array(2500), t.now)).toBe(2500);
    t.expectSegs({ flags: ACK, seq: hostNxt, payloadLen: 1000 }, { flags: ACK, seq: hostNxt + 1000, payloadLen: 1000 }, { flags: ACK | PSH, seq: hostNxt + 2000, payloadLen: 500 });
    expect(s.bufferedLength).toBe(2500);
    t.send({ flags: ACK, seq: peerNxt, ack: hostNxt + 2500 });
    expect(s.bufferedLength).toBe(0);
    t.expectNothing();
    t.advance(5000);
    t.expectNothing(); // all acknowledged: the timer is stopped
    t.done();
  });

  it('established_send_respects_peer_window_§3.8.6', () => {
    const t = new TcpScript();
    const { s, peerNxt, hostNxt } = t.established({ window: 2000, mss: 1000 });
    s.send(new Uint8Array(5000), t.now);
    t.expectSegs({ payloadLen: 1000 }, { payloadLen: 1000 });
    t.send({ flags: ACK, seq: peerNxt, ack: hostNxt + 2000, window: 2000 });
    t.expectSegs({ seq: hostNxt + 2000, payloadLen: 1000 }, { seq: hostNxt + 3000, payloadLen: 1000 });
    s.abort(t.now);
    t.take();
    t.done();
  });

  it('established_small_window_openings_no_silly_segments_§3.8.6.2.1_E9', () => {
    const t = new TcpScript({ rtoMinMs: 200 });
    const { s, peerNxt, hostNxt } = t.established({ window: 4000, mss: 1000 });
    s.send(new Uint8Array(8000), t.now);
    t.expectSegs({ payloadLen: 1000 }, { payloadLen: 1000 }, { payloadLen: 1000 }, { payloadLen: 1000 });
    // The peer acknowledges but opens the window one byte at a time.
    for (let i = 1; i <= 20; i++) t.send({ flags: ACK, seq: peerNxt, ack: hostNxt + 4000, window: i });
    t.expectNothing();
    expect(t.host.stack.stats.get('tcp', 'sws_deferred')).toBeGreaterThan(0);
    // Half the largest window seen (2000) is worth a segment.
    t.send({ flags: ACK, seq: peerNxt, ack: hostNxt + 4000, window: 2000 });
    t.expectSegs({ seq: hostNxt + 4000, payloadLen: 1000 }, { seq: hostNxt + 5000, payloadLen: 1000 });
    s.abort(t.now);
    t.take();
    t.done();
  });

  it('established_send_buffer_bounded_returns_bytes_accepted', () => {
    const t = new TcpScript({ sendBufferSize: 1000 });
    const { s } = t.established({ window: 0 });
    expect(s.send(new Uint8Array(3000), t.now)).toBe(1000);
    expect(s.send(new Uint8Array(10), t.now)).toBe(0);
    t.expectNothing();
    s.abort(t.now);
    t.take();
    t.done();
  });

  it('established_rto_retransmits_with_karn_and_backoff_then_etimedout_rfc6298', () => {
    const t = new TcpScript({ maxRetries: 2, rtoInitialMs: 1000, rtoMinMs: 200 });
    const { s, hostNxt } = t.established();
    s.send(bytes('x'.repeat(10)), t.now);
    t.expectOne({ seq: hostNxt, payloadLen: 10 });
    // The handshake's SYN-ACK was timed (sent once, RTT 0): RTO = max(min, 0 + max(G, 4*RTTVAR)) = 200 ms.
    t.advance(199);
    t.expectNothing();
    t.advance(1);
    t.expectOne({ seq: hostNxt, payloadLen: 10 });
    t.advance(400);
    t.expectOne({ seq: hostNxt, payloadLen: 10 });
    t.advance(800);
    t.expectOne({ flags: RST | ACK });
    expect(s.state).toBe(TcpState.CLOSED);
    expect(s.takeError()).toBe('ETIMEDOUT');
    t.done();
  });

  it('established_ack_beyond_sndnxt_not_accepted_ack_sent_rfc5961_§5.2_H39', () => {
    const t = new TcpScript();
    const { s, peerNxt, hostNxt } = t.established();
    t.send({ flags: ACK, seq: peerNxt, ack: hostNxt + 5000, payload: bytes('zz') });
    t.expectOne({ flags: ACK, ack: peerNxt });
    expect(s.readableLength).toBe(0);
    t.done();
  });

  it('established_no_flags_with_data_dropped_H42', () => {
    const t = new TcpScript();
    const { s, peerNxt, hostNxt } = t.established();
    t.send({ flags: 0, seq: peerNxt, ack: hostNxt, payload: new Uint8Array(1000) });
    t.expectNothing();
    expect(s.readableLength).toBe(0);
    t.send({ flags: SYN | FIN, seq: peerNxt });
    t.send({ flags: SYN | RST, seq: peerNxt });
    t.expectNothing();
    expect(s.state).toBe(TcpState.ESTABLISHED);
    t.done();
  });

  it('established_urg_pointer_ignored_data_inline_H36', () => {
    const t = new TcpScript();
    const { s, peerNxt, hostNxt } = t.established();
    t.send({ flags: ACK | 0x20, seq: peerNxt, ack: hostNxt, urg: 0xffff, payload: bytes('0123456789') });
    t.expectOne({ ack: peerNxt + 10 });
    expect(text(s.recv(100, t.now))).toBe('0123456789');
    t.done();
  });
});

describe('TCP RST and SYN hardening (RFC 5961)', () => {
  it('established_rst_exact_seq_resets_econnreset_§3.2_H37', () => {
    const t = new TcpScript();
    const { s, peerNxt } = t.established();
    t.send({ flags: RST, seq: peerNxt });
    t.expectNothing();
    expect(s.state).toBe(TcpState.CLOSED);
    expect(s.takeError()).toBe('ECONNRESET');
    t.done();
  });

  it('established_rst_in_window_not_exact_challenge_ack_§3.2_H37', () => {
    const t = new TcpScript();
    const { s, peerNxt, hostNxt } = t.established();
    t.send({ flags: RST, seq: peerNxt + 1 });
    t.expectOne({ flags: ACK, seq: hostNxt, ack: peerNxt });
    expect(s.state).toBe(TcpState.ESTABLISHED);
    t.done();
  });

  it('established_rst_out_of_window_dropped_silently_§3.2_H37', () => {
    const t = new TcpScript();
    const { s, peerNxt } = t.established();
    t.send({ flags: RST, seq: peerNxt + 65535 + 10 });
    t.expectNothing();
    expect(s.state).toBe(TcpState.ESTABLISHED);
    t.done();
  });

  it('established_syn_in_and_out_of_window_challenge_ack_§4.2_H38', () => {
    const t = new TcpScript({ challengeAcksPerSecond: 10 });
    const { s, peerNxt, hostNxt } = t.established();
    t.send({ flags: SYN, seq: peerNxt + 100 });
    t.expectOne({ flags: ACK, seq: hostNxt, ack: peerNxt });
    t.send({ flags: SYN, seq: peerNxt - 100000 });
    t.expectOne({ flags: ACK, seq: hostNxt, ack: peerNxt });
    expect(s.state).toBe(TcpState.ESTABLISHED);
    t.done();
  });

  it('established_many_bad_rsts_challenge_acks_rate_limited_per_socket_§7_H40', () => {
    const t = new TcpScript({ challengeAcksPerSecond: 1 });
    const { s, peerNxt } = t.established();
    for (let i = 0; i < 100; i++) t.send({ flags: RST, seq: peerNxt + 1 + i });
    expect(t.take()).toHaveLength(1);
    t.advance(1000);
    t.send({ flags: RST, seq: peerNxt + 5 });
    expect(t.take()).toHaveLength(1);
    expect(s.state).toBe(TcpState.ESTABLISHED);
    t.done();
  });

  it('closed_port_syn_rst_ack_seq0_ack_seqplus1_§3.10.7.1_H42', () => {
    const t = new TcpScript();
    t.send({ flags: SYN, seq: 100, dport: 81 });
    t.expectOne({ flags: RST | ACK, seq: 0, ack: 101 });
    t.send({ flags: FIN | URG_PSH(), seq: 100, dport: 81, payload: bytes('ab') });
    t.expectOne({ flags: RST | ACK, seq: 0, ack: 103 });
    t.send({ flags: 0, seq: 100, dport: 81 });
    t.expectOne({ flags: RST | ACK, seq: 0, ack: 100 });
    t.send({ flags: ACK, seq: 100, ack: 4242, dport: 81 });
    t.expectOne({ flags: RST, seq: 4242 });
    t.send({ flags: RST, seq: 100, dport: 81 });
    t.expectNothing();
    t.done();
  });

  it('closed_port_rst_rate_limited_E11', () => {
    const t = new TcpScript({ rstBurst: 5, rstRatePerSecond: 5 });
    for (let i = 0; i < 50; i++) t.send({ flags: SYN, seq: i, dport: 81 });
    expect(t.take()).toHaveLength(5);
    t.done();
  });

  it('listen_syn_mss_zero_clamped_to_floor_H35', () => {
    const t = new TcpScript({ mssFloor: 64 });
    const { s } = t.established({ mss: 0 });
    s.send(new Uint8Array(200), t.now);
    expect(t.take().map((g) => g.payload.length)).toEqual([64, 64, 64, 8]);
    s.abort(t.now);
    t.take();
    t.done();
  });

  it('listen_syn_mss_bad_length_ignored_default_536_H35', () => {
    const t = new TcpScript();
    const l = t.tcp.listen(4, null, 80);
    if (typeof l === 'string') throw new Error(l);
    t.send({ flags: SYN, seq: 1, rawOptions: [2, 3, 5, 1] });
    const sa = t.expectOne({ flags: SYN | ACK });
    t.send({ flags: ACK, seq: 2, ack: sa.seq + 1 });
    const s = l.accept()!;
    s.send(new Uint8Array(600), t.now);
    expect(t.take().map((g) => g.payload.length)).toEqual([536, 64]);
    s.abort(t.now);
    t.take();
    t.done();
  });

  it('listen_syn_option_len_zero_dropped_no_loop_H32', () => {
    const t = new TcpScript();
    t.tcp.listen(4, null, 80);
    t.send({ flags: SYN, seq: 1, rawOptions: [0x22, 0, 1, 1] });
    t.expectNothing();
    expect(t.host.stack.stats.drops('tcp', 'malformed_options')).toBe(1);
    t.done();
  });
});

function URG_PSH(): number {
  return 0x20 | PSH;
}

describe('TCP close (RFC 9293 §3.6, §3.10.4, §3.10.7.4)', () => {
  it('established_close_finwait1_ack_finwait2_fin_timewait_expiry_§3.6', () => {
    const t = new TcpScript({ timeWaitMs: 2000 });
    const { s, peerNxt, hostNxt } = t.established();
    s.close(t.now);
    t.expectOne({ flags: FIN | ACK, seq: hostNxt, ack: peerNxt });
    expect(s.state).toBe(TcpState.FIN_WAIT_1);
    t.send({ flags: ACK, seq: peerNxt, ack: hostNxt + 1 });
    expect(s.state).toBe(TcpState.FIN_WAIT_2);
    t.send({ flags: FIN | ACK, seq: peerNxt, ack: hostNxt + 1 });
    t.expectOne({ flags: ACK, seq: hostNxt + 1, ack: peerNxt + 1 });
    expect(s.state).toBe(TcpState.TIME_WAIT);
    // A retransmitted FIN in TIME-WAIT is ACKed again and restarts 2 MSL.
    t.advance(1500);
    t.send({ flags: FIN | ACK, seq: peerNxt, ack: hostNxt + 1 });
    t.expectOne({ flags: ACK, ack: peerNxt + 1 });
    t.advance(1999);
    expect(s.state).toBe(TcpState.TIME_WAIT);
    t.advance(1);
    expect(s.state).toBe(TcpState.CLOSED);
    expect(t.tcp.connectionCount).toBe(0);
    t.done();
  });

  it('established_peer_fin_closewait_half_close_still_sends_then_lastack_§3.10.7.4', () => {
    const t = new TcpScript();
    const { s, peerNxt, hostNxt } = t.established();
    t.send({ flags: FIN | ACK, seq: peerNxt, ack: hostNxt, payload: bytes('bye') });
    t.expectOne({ flags: ACK, ack: peerNxt + 4 });
    expect(s.state).toBe(TcpState.CLOSE_WAIT);
    expect(text(s.recv(10, t.now))).toBe('bye');
    expect(s.eof).toBe(true);
    expect(s.send(bytes('more'), t.now)).toBe(4);
    t.expectOne({ flags: ACK | PSH, seq: hostNxt, payloadLen: 4 });
    s.shutdown(t.now);
    t.expectOne({ flags: FIN | ACK, seq: hostNxt + 4 });
    expect(s.state).toBe(TcpState.LAST_ACK);
    t.send({ flags: ACK, seq: peerNxt + 4, ack: hostNxt + 5 });
    expect(s.state).toBe(TcpState.CLOSED);
    expect(s.takeError()).toBeUndefined();
    t.done();
  });

  it('finwait1_fin_before_ack_closing_then_timewait_simultaneous_close_§3.6', () => {
    const t = new TcpScript();
    const { s, peerNxt, hostNxt } = t.established();
    s.shutdown(t.now);
    t.expectOne({ flags: FIN | ACK });
    t.send({ flags: FIN | ACK, seq: peerNxt, ack: hostNxt });
    t.expectOne({ flags: ACK, ack: peerNxt + 1 });
    expect(s.state).toBe(TcpState.CLOSING);
    t.send({ flags: ACK, seq: peerNxt + 1, ack: hostNxt + 1 });
    expect(s.state).toBe(TcpState.TIME_WAIT);
    t.done();
  });

  it('established_fin_out_of_order_processed_after_hole_filled_§3.10.7.4', () => {
    const t = new TcpScript();
    const { s, peerNxt, hostNxt } = t.established();
    t.send({ flags: FIN | ACK, seq: peerNxt + 2, ack: hostNxt, payload: bytes('cd') });
    t.expectOne({ ack: peerNxt });
    expect(s.state).toBe(TcpState.ESTABLISHED);
    t.send({ flags: ACK, seq: peerNxt, ack: hostNxt, payload: bytes('ab') });
    t.expectOne({ ack: peerNxt + 5 });
    expect(s.state).toBe(TcpState.CLOSE_WAIT);
    expect(text(s.recv(10, t.now))).toBe('abcd');
    t.done();
  });

  it('established_close_with_unread_data_sends_rst_rfc2525', () => {
    const t = new TcpScript();
    const { s, peerNxt, hostNxt } = t.established();
    t.send({ flags: ACK, seq: peerNxt, ack: hostNxt, payload: bytes('unread') });
    t.take();
    s.close(t.now);
    t.expectOne({ flags: RST | ACK, seq: hostNxt });
    expect(s.state).toBe(TcpState.CLOSED);
    t.done();
  });

  it('finwait1_fin_retransmitted_on_rto_§3.10.4', () => {
    const t = new TcpScript({ rtoMinMs: 200 });
    const { s, hostNxt } = t.established();
    s.shutdown(t.now);
    t.expectOne({ flags: FIN | ACK, seq: hostNxt });
    t.advance(200);
    t.expectOne({ flags: FIN | ACK, seq: hostNxt });
    s.abort(t.now);
    t.take();
    t.done();
  });

  it('finwait2_orphan_times_out_after_fin_timeout', () => {
    const t = new TcpScript({ finWait2TimeoutMs: 5000 });
    const { s, peerNxt, hostNxt } = t.established();
    s.close(t.now);
    t.expectOne({ flags: FIN | ACK });
    t.send({ flags: ACK, seq: peerNxt, ack: hostNxt + 1 });
    expect(s.state).toBe(TcpState.FIN_WAIT_2);
    t.advance(4999);
    expect(s.state).toBe(TcpState.FIN_WAIT_2);
    t.advance(1);
    expect(s.state).toBe(TcpState.CLOSED);
    t.expectNothing();
    t.done();
  });

  it('finwait2_after_shutdown_not_orphaned_waits_for_peer_fin_§3.10.4', () => {
    const t = new TcpScript({ finWait2TimeoutMs: 5000 });
    const { s, peerNxt, hostNxt } = t.established();
    s.shutdown(t.now);
    t.expectOne({ flags: FIN | ACK });
    t.send({ flags: ACK, seq: peerNxt, ack: hostNxt + 1 });
    t.advance(10_000);
    expect(s.state).toBe(TcpState.FIN_WAIT_2);
    // Half-close: the peer can still send and we still receive.
    t.send({ flags: ACK, seq: peerNxt, ack: hostNxt + 1, payload: bytes('late') });
    t.expectOne({ flags: ACK, ack: peerNxt + 4 });
    expect(text(s.recv(10, t.now))).toBe('late');
    t.done();
  });
});

describe('TCP passive open timers (RFC 9293 §3.10.7.2, RFC 6298)', () => {
  it('synreceived_duplicate_syn_resends_synack_§3.10.7.4', () => {
    const t = new TcpScript();
    t.tcp.listen(4, null, 80);
    t.send({ flags: SYN, seq: 10, mss: 1460 });
    const sa = t.expectOne({ flags: SYN | ACK, ack: 11 });
    t.send({ flags: SYN, seq: 10, mss: 1460 });
    t.expectOne({ flags: SYN | ACK, seq: sa.seq, ack: 11 });
    t.done();
  });

  it('synreceived_no_ack_synack_retransmitted_then_child_dropped_from_backlog', () => {
    const t = new TcpScript({ synRetries: 2, rtoInitialMs: 1000 });
    const l = t.tcp.listen(4, null, 80, 1);
    if (typeof l === 'string') throw new Error(l);
    t.send({ flags: SYN, seq: 10 });
    const sa = t.expectOne({ flags: SYN | ACK });
    t.advance(1000);
    t.expectOne({ flags: SYN | ACK, seq: sa.seq });
    t.advance(2000);
    t.expectOne({ flags: SYN | ACK, seq: sa.seq });
    t.advance(4000);
    t.expectNothing();
    expect(l.synQueue.size).toBe(0);
    expect(t.tcp.connectionCount).toBe(0);
    // The backlog slot is free again.
    t.send({ flags: SYN, seq: 99, sport: 2000 });
    t.expectOne({ flags: SYN | ACK, ack: 100 });
    t.done();
  });

  it('synreceived_rtt_sample_from_synack_sets_rto_rfc6298_§2.2', () => {
    const t = new TcpScript({ rtoMinMs: 1 });
    const l = t.tcp.listen(4, null, 80);
    if (typeof l === 'string') throw new Error(l);
    t.send({ flags: SYN, seq: 10 });
    const sa = t.expectOne({ flags: SYN | ACK });
    t.advance(100);
    t.send({ flags: ACK, seq: 11, ack: sa.seq + 1 });
    const s = l.accept()!;
    // First sample R = 100 ms: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4*RTTVAR = 300 ms.
    expect(s.rtt.srtt).toBe(100_000);
    expect(s.rtt.rto).toBe(300_000);
    s.send(bytes('x'), t.now);
    t.expectOne({ payloadLen: 1 });
    t.advance(299);
    t.expectNothing();
    t.advance(1);
    t.expectOne({ payloadLen: 1 });
    s.abort(t.now);
    t.take();
    t.done();
  });

  it('listen_unaccepted_children_hold_no_buffers_and_queue_bounded_E2', () => {
    const t = new TcpScript();
    const l = t.tcp.listen(4, null, 80, 3);
    if (typeof l === 'string') throw new Error(l);
    for (let i = 0; i < 5; i++) {
      t.send({ flags: SYN, seq: 100, sport: 3000 + i });
      const sa = t.take();
      if (sa.length === 1) t.send({ flags: ACK, seq: 101, ack: sa[0]!.seq + 1, sport: 3000 + i });
    }
    expect(l.acceptQueue).toHaveLength(3);
    for (const c of l.acceptQueue) expect(c.sendBuf.allocated || c.recvBuf.allocated).toBe(false);
    expect(t.host.stack.stats.drops('tcp', 'listen_backlog_full')).toBe(2);
    t.take();
    l.close(t.now);
    expect(t.take().every((g) => g.flags & RST)).toBe(true);
    expect(t.tcp.connectionCount).toBe(0);
    t.done();
  });
});

describe('TCP malformed segments and TIME-WAIT hardening', () => {
  it('timewait_rst_ignored_rfc1337_E10', () => {
    const t = new TcpScript({ timeWaitMs: 2000 });
    const { s, peerNxt, hostNxt } = t.established();
    s.shutdown(t.now);
    t.take();
    t.send({ flags: FIN | ACK, seq: peerNxt, ack: hostNxt + 1 });
    t.take();
    expect(s.state).toBe(TcpState.TIME_WAIT);
    t.send({ flags: RST, seq: peerNxt + 1 });
    t.expectNothing();
    expect(s.state).toBe(TcpState.TIME_WAIT);
    t.advance(2000);
    expect(s.state).toBe(TcpState.CLOSED);
    t.done();
  });

  it('established_data_offset_4_or_beyond_segment_dropped_H31', () => {
    const t = new TcpScript();
    const { s, peerNxt, hostNxt } = t.established();
    const before = t.host.stack.stats.drops('tcp', 'malformed_data_offset');
    t.send({ flags: ACK, seq: peerNxt, ack: hostNxt, payload: new Uint8Array(20), dataOffsetWords: 4 });
    t.send({ flags: ACK, seq: peerNxt, ack: hostNxt, payload: new Uint8Array(20), dataOffsetWords: 15 });
    expect(t.host.stack.stats.drops('tcp', 'malformed_data_offset') - before).toBe(2);
    t.expectNothing();
    expect(s.readableLength).toBe(0);
    t.done();
  });

  it('established_malformed_sack_option_ignored_data_accepted_H33', () => {
    const t = new TcpScript();
    const { s, peerNxt, hostNxt } = t.established();
    t.send({ flags: ACK, seq: peerNxt, ack: hostNxt, rawOptions: [1, 1, 5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0], payload: bytes('ok') });
    t.expectOne({ flags: ACK, ack: peerNxt + 2 });
    expect(text(s.recv(10, t.now))).toBe('ok');
    t.done();
  });

  it('synsent_icmp_port_unreachable_econnrefused_rfc5927_§4.1', () => {
    const t = new TcpScript();
    const s = t.tcp.connect(4, PEER, 9000, t.now);
    if (typeof s === 'string') throw new Error(s);
    const syn = t.expectOne({ flags: SYN });
    t.sendIcmpUnreachable(3, syn.sport, 9000, syn.seq + 7); // quoted seq outside [SND.UNA, SND.NXT)
    expect(s.state).toBe(TcpState.SYN_SENT);
    expect(t.host.stack.stats.drops('tcp', 'icmp_seq_out_of_window')).toBe(1);
    t.sendIcmpUnreachable(3, syn.sport, 9000, syn.seq);
    expect(s.state).toBe(TcpState.CLOSED);
    expect(s.takeError()).toBe('ECONNREFUSED');
    t.expectNothing();
    t.done();
  });

  it('established_icmp_hard_error_soft_then_reported_on_timeout_rfc5927_§4.1', () => {
    const t = new TcpScript({ maxRetries: 1, rtoMinMs: 200 });
    const { s, port, hostNxt } = t.connected();
    s.send(bytes('data'), t.now);
    t.expectOne({ payloadLen: 4 });
    t.sendIcmpUnreachable(1, port, 9000, hostNxt);
    expect(s.state).toBe(TcpState.ESTABLISHED);
    t.advance(10_000);
    expect(s.state).toBe(TcpState.CLOSED);
    expect(s.takeError()).toBe('EHOSTUNREACH');
    t.take();
    t.done();
  });

  it('isn_keyed_hash_per_tuple_and_clock_driven_rfc6528', () => {
    const t = new TcpScript();
    const a = t.tcp.connect(4, PEER, 9000, t.now, { localPort: 5000 });
    const b = t.tcp.connect(4, PEER, 9001, t.now, { localPort: 5000 });
    if (typeof a === 'string' || typeof b === 'string') throw new Error('connect');
    const [sa, sb] = t.take();
    expect(sa!.seq).not.toBe(sb!.seq);
    a.abort(t.now);
    t.advance(1000);
    t.take();
    // Same 4-tuple one second later: the ISN moved forward by the 4 µs clock (250,000 ticks).
    const a2 = t.tcp.connect(4, PEER, 9000, t.now, { localPort: 5000 });
    if (typeof a2 === 'string') throw new Error(a2);
    const [sa2] = t.take().filter((g) => g.flags === SYN);
    expect((sa2!.seq - sa!.seq) >>> 0).toBe(250_000);
    // Another stack with the same seed draws the same secret: ISNs are reproducible in tests (STYLE 10).
    const u = new TcpScript();
    const a3 = u.tcp.connect(4, PEER, 9000, u.now, { localPort: 5000 });
    if (typeof a3 === 'string') throw new Error(a3);
    const [sa3] = u.take();
    expect(sa3!.seq).toBe(sa!.seq);
    a2.abort(t.now);
    b.abort(t.now);
    a3.abort(u.now);
    t.done();
    u.done();
  });
});
