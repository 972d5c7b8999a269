import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TCP_HEADER_LEN, TcpFlags, TcpPacket, TcpRepr } from '../../src/wire/tcp.js';
import { EmitError, isWireError } from '../../src/wire/error.js';
import { hex } from '../../src/wire/bytes.js';
import { tsChecksum } from '../../src/checksum/ts-checksum.js';
import { pseudoHeaderSumV4, pseudoHeaderSumV6 } from '../../src/checksum/internet.js';
import { parseIpv6 } from '../../src/wire/address.js';
import type { Ipv4Address } from '../../src/wire/address.js';
import { V4_DST, V4_SRC, l4FromFrame, pseudoSum, tcp, tcpOpt, tcpOptions } from '../support/build-l4.js';

// gopacket__test_ethernet.pcap, frames 1, 2 and 4 (`tshark -x`).
const SYN =
  'c4393a02a92a586d8f99eca808004500003c5b9f40004006c9180a0101020a010101ae6400509349c83000000000a0027210e47d0000020405b40402080a3d8f93af0000000001030307';
const SYN_ACK =
  '586d8f99eca8c4393a02a92a08004500003c00004000400624b80a0101010a0101020050ae64f9a817da9349c831a01216a021e60000020405b40402080a037409033d8f93af01030304';
const GET =
  'c4393a02a92a586d8f99eca808004500007c5ba140004006c8d60a0101020a010101ae6400509349c831f9a817db801800e5924f00000101080a3d8f93b003740903474554202f20485454502f312e310d0a486f73743a2031302e312e312e310d0a557365722d4167656e743a206375726c2f372e34372e300d0a4163636570743a202a2f2a0d0a0d0a';

function checked(b: Uint8Array, off = 0, len = b.length - off): TcpPacket {
  const p = TcpPacket.check(b, off, len);
  if (isWireError(p)) throw new Error(p.toString());
  return p;
}

function captured(frameHex: string) {
  const s = l4FromFrame(frameHex);
  const p = checked(s.frame, s.off, s.len);
  const ps = pseudoHeaderSumV4(s.src as Ipv4Address, s.dst as Ipv4Address, 6, s.len);
  return { s, p, ps };
}

describe('tcp', () => {
  it('reads the SYN of a capture as tshark -V shows it', () => {
    const { p, ps } = captured(SYN);
    expect(p.srcPort).toBe(44644);
    expect(p.dstPort).toBe(80);
    expect(p.seqNumber).toBe(2471086128);
    expect(p.ackNumber).toBe(0);
    expect(p.headerLen).toBe(40);
    expect(p.dataOffset).toBe(10);
    expect(p.flags).toBe(TcpFlags.SYN);
    expect(p.window).toBe(29200);
    expect(p.checksum).toBe(0xe47d);
    expect(p.urgentPointer).toBe(0);
    expect(p.payloadLength).toBe(0);
    expect(p.segmentLength).toBe(1);
    expect(p.verifyChecksum(tsChecksum, ps)).toBe(true);
    expect(p.options()).toEqual({ mss: 1460, sackPermitted: true, timestamps: { tsVal: 1032819631, tsEcr: 0 }, windowScale: 7, malformed: [] });
  });

  it('reads the SYN-ACK (WS=16, echoed timestamp) and a data segment', () => {
    const sa = captured(SYN_ACK);
    expect(sa.p.hasFlags(TcpFlags.SYN | TcpFlags.ACK)).toBe(true);
    expect(sa.p.ackNumber).toBe(2471086129);
    expect(sa.p.window).toBe(5792);
    expect(sa.p.verifyChecksum(tsChecksum, sa.ps)).toBe(true);
    expect(sa.p.options()).toMatchObject({ windowScale: 4, timestamps: { tsVal: 57936131, tsEcr: 1032819631 } });

    const get = captured(GET);
    expect(get.p.flags).toBe(TcpFlags.PSH | TcpFlags.ACK);
    expect(get.p.headerLen).toBe(32);
    expect(get.p.payloadLength).toBe(72);
    expect(get.p.segmentLength).toBe(72);
    expect(new TextDecoder().decode(get.p.payload()).startsWith('GET / HTTP/1.1\r\n')).toBe(true);
    expect(get.p.payloadOffset).toBe(get.s.off + 32);
    expect(get.p.verifyChecksum(tsChecksum, get.ps)).toBe(true);
    get.s.frame[get.p.payloadOffset + 3] ^= 0x20;
    expect(get.p.verifyChecksum(tsChecksum, get.ps)).toBe(false);
  });

  it('TcpRepr.emit reproduces the captured SYN byte for byte, checksum included', () => {
    const { s, p, ps } = captured(SYN);
    const r = TcpRepr.parse(p);
    if (isWireError(r)) throw new Error(r.toString());
    const out = new Uint8Array(TcpRepr.bufferLen(r));
    TcpRepr.emit(r, out, 0, tsChecksum, ps);
    expect(hex(out)).toBe(hex(s.frame, s.off, s.len));
  });

  it('reads the AE bit and reserved bits, and the flags setter preserves the data offset', () => {
    const b = tcp({ flags: TcpFlags.AE | TcpFlags.CWR | TcpFlags.ECE | TcpFlags.SYN, reserved: 5, options: tcpOptions(tcpOpt.mss(1460)) });
    const p = checked(b);
    expect(p.flags).toBe(0x1c2);
    expect(p.reserved).toBe(5);
    p.flags = TcpFlags.FIN | TcpFlags.ACK;
    expect(p.flags).toBe(0x011);
    expect(p.dataOffset).toBe(6);
    expect(p.reserved).toBe(5);
    expect(p.segmentLength).toBe(1);
  });

  it('setters write the RFC fields and fillChecksum makes verify pass', () => {
    const b = tcp({ payload: [1, 2, 3] });
    const p = checked(b);
    p.srcPort = 1;
    p.dstPort = 2;
    p.seqNumber = 0xfffffffe;
    p.ackNumber = 0x80000000;
    p.window = 7;
    p.urgentPointer = 0xffff;
    const ps = pseudoSum(6, V4_SRC, V4_DST, b.length);
    expect(p.verifyChecksum(tsChecksum, ps)).toBe(false);
    p.fillChecksum(tsChecksum, ps);
    expect(p.verifyChecksum(tsChecksum, ps)).toBe(true);
    expect(TcpRepr.parse(checked(b))).toMatchObject({ srcPort: 1, dstPort: 2, seq: 0xfffffffe, ack: 0x80000000, window: 7, urgentPointer: 0xffff, payloadLen: 3 });
  });

  it('honours off/avail: a segment inside a larger buffer ends at avail', () => {
    const seg = tcp({ payload: [9, 9, 9, 9] });
    const b = new Uint8Array(seg.length + 10);
    b.set(seg, 3);
    const p = checked(b, 3, seg.length - 2); // IP says 2 bytes fewer
    expect(p.payloadLength).toBe(2);
    expect(isWireError(TcpPacket.check(b, 3, b.length))).toBe(true); // range past the buffer
    expect(isWireError(TcpPacket.check(b, -1, 20))).toBe(true);
  });

  it('emit refuses a buffer too small', () => {
    const r: TcpRepr = { srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: 0, window: 0, urgentPointer: 0, options: {}, payloadLen: 10 };
    expect(() => TcpRepr.emit(r, new Uint8Array(29), 0)).toThrow(EmitError);
  });

  const u16 = fc.integer({ min: 0, max: 0xffff });
  const u32 = fc.integer({ min: 0, max: 0xffffffff });
  const reprArb = fc.record({
    srcPort: u16,
    dstPort: u16,
    seq: u32,
    ack: u32,
    flags: fc.integer({ min: 0, max: 0x1ff }),
    window: u16,
    urgentPointer: u16,
    options: fc.oneof(
      fc.constant({}),
      fc.record({ mss: u16, windowScale: fc.integer({ min: 0, max: 14 }), sackPermitted: fc.boolean(), timestamps: fc.record({ tsVal: u32, tsEcr: u32 }) }),
      fc.record({ timestamps: fc.record({ tsVal: u32, tsEcr: u32 }), sackBlocks: fc.array(fc.tuple(u32, u32), { minLength: 1, maxLength: 3 }) }),
    ),
    payloadLen: fc.constant(0),
  });

  it('emit then check/parse round-trips and the checksum verifies over IPv4 and IPv6', () => {
    const s6 = parseIpv6('2001:db8::1')!;
    const d6 = parseIpv6('2001:db8::2')!;
    fc.assert(
      fc.property(reprArb, fc.uint8Array({ maxLength: 200 }), fc.nat(5), fc.boolean(), (r0, payload, at, v6) => {
        const r = { ...r0, payloadLen: payload.length };
        const len = TcpRepr.bufferLen(r);
        const b = new Uint8Array(at + len);
        b.set(payload, at + TcpRepr.headerLen(r));
        const ps = v6 ? pseudoHeaderSumV6(s6, d6, 6, len) : pseudoHeaderSumV4(V4_SRC, V4_DST, 6, len);
        TcpRepr.emit(r, b, at, tsChecksum, ps);
        const p = checked(b, at);
        expect(p.headerLen).toBe(TCP_HEADER_LEN + (len - payload.length - TCP_HEADER_LEN));
        expect(p.verifyChecksum(tsChecksum, ps)).toBe(true);
        const back = TcpRepr.parse(p) as TcpRepr;
        expect(back).toEqual({ ...r, options: { sackPermitted: false, ...r.options, malformed: [] } });
        expect(hex(p.payload())).toBe(hex(payload));
        b[at + len - 1] ^= 0x80;
        expect(p.verifyChecksum(tsChecksum, ps)).toBe(false);
      }),
    );
  });

  it('random bytes never throw; a passing check keeps every accessor in bounds', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(90), fc.nat(90), (b, off, len) => {
        const p = TcpPacket.check(b, off, len);
        if (isWireError(p)) return;
        expect(p.payloadOffset + p.payloadLength).toBeLessThanOrEqual(b.length);
        expect(p.optionsOffset + p.optionsLength).toBeLessThanOrEqual(b.length);
        expect(p.headerLen).toBeGreaterThanOrEqual(20);
        void p.options();
        void TcpRepr.parse(p);
      }),
      { numRuns: 5000 },
    );
  });

  it('mutated captured segments never throw', () => {
    const { s } = captured(SYN);
    const seg = s.frame.slice(s.off, s.off + s.len);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(seg.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(seg.length), (muts, cut) => {
        const b = seg.slice();
        for (const [i, v] of muts) b[i] = v;
        const p = TcpPacket.check(b, 0, cut);
        if (!isWireError(p)) {
          const o = p.options();
          if (!isWireError(o)) expect(o.malformed.every((m) => m.offset >= 20 && m.offset < p.headerLen)).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
