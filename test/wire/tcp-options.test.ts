import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TCP_MAX_OPTIONS_LEN, TcpOptionsRepr, clampWindowShift } from '../../src/wire/tcp-options.js';
import type { TcpOptions } from '../../src/wire/tcp-options.js';
import { EmitError, isWireError } from '../../src/wire/error.js';
import { fromHex, hex } from '../../src/wire/bytes.js';
import { tcpOpt, tcpOptions } from '../support/build-l4.js';

// Options area of the SYN in gopacket__test_ethernet.pcap frame 1 (tshark: MSS=1460 SACK_PERM
// TSval=1032819631 TSecr=0 NOP WS=7).
const SYN_OPTIONS = '020405b40402080a3d8f93af0000000001030307';

function parse(b: Uint8Array, base = 0): TcpOptions {
  const r = TcpOptionsRepr.parse(b, 0, b.length, base);
  if (isWireError(r)) throw new Error(r.toString());
  return r;
}

describe('tcp options', () => {
  it('parses the Linux SYN option layout from a capture', () => {
    expect(parse(fromHex(SYN_OPTIONS))).toEqual({
      mss: 1460,
      sackPermitted: true,
      timestamps: { tsVal: 1032819631, tsEcr: 0 },
      windowScale: 7,
      malformed: [],
    });
  });

  it('emits the same bytes Linux put on the wire for the same options', () => {
    const o = { mss: 1460, sackPermitted: true, timestamps: { tsVal: 1032819631, tsEcr: 0 }, windowScale: 7 };
    const b = new Uint8Array(TcpOptionsRepr.bufferLen(o));
    expect(TcpOptionsRepr.emit(o, b, 0)).toBe(20);
    expect(hex(b)).toBe(SYN_OPTIONS);
  });

  it('stops at EOL: bytes after it are not parsed, even an invalid length', () => {
    const r = parse(tcpOptions(tcpOpt.mss(536), tcpOpt.eol(), [0x22, 0x00, 0x02, 0x04]));
    expect(r.mss).toBe(536);
    expect(r.malformed).toEqual([]);
  });

  it('skips unknown kinds by their length and keeps parsing', () => {
    const r = parse(tcpOptions([0x22, 6, 1, 2, 3, 4], tcpOpt.nop(), tcpOpt.nop(), tcpOpt.ws(3), tcpOpt.nop()));
    expect(r).toEqual({ windowScale: 3, sackPermitted: false, malformed: [] });
  });

  it('a repeated option overwrites the earlier value', () => {
    expect(parse(tcpOptions(tcpOpt.mss(1000), tcpOpt.mss(1200))).mss).toBe(1200);
  });

  it('parses SACK with 1..4 blocks as [left, right] pairs', () => {
    const blocks: [number, number][] = [
      [1, 2],
      [0xfffffff0, 0x10],
      [100, 200],
      [0x80000000, 0xffffffff],
    ];
    for (let n = 1; n <= 4; n++) {
      const r = parse(tcpOptions(tcpOpt.sack(...blocks.slice(0, n))));
      expect(r.sackBlocks).toEqual(blocks.slice(0, n));
    }
  });

  it('ignores known kinds with wrong lengths, listing kind, length and offset', () => {
    // MSS len 3, WS len 4, SACK-permitted len 3, SACK len 11, TS len 8, then a good MSS.
    const b = tcpOptions(
      [2, 3, 0x05],
      [3, 4, 7, 0],
      [4, 3, 0],
      [5, 11, ...new Array<number>(9).fill(0)],
      [8, 8, 0, 0, 0, 0, 0, 0],
      tcpOpt.mss(1400),
    );
    const r = parse(b, 20);
    expect(r.mss).toBe(1400);
    expect(r.windowScale).toBeUndefined();
    expect(r.sackPermitted).toBe(false);
    expect(r.sackBlocks).toBeUndefined();
    expect(r.timestamps).toBeUndefined();
    expect(r.malformed).toEqual([
      { kind: 2, length: 3, offset: 20 },
      { kind: 3, length: 4, offset: 23 },
      { kind: 4, length: 3, offset: 27 },
      { kind: 5, length: 11, offset: 30 },
      { kind: 8, length: 8, offset: 41 },
    ]);
  });

  it('a SACK option with 0 blocks or more than 4 blocks is malformed (walker over a wider area)', () => {
    expect(parse(tcpOptions([5, 2])).malformed).toEqual([{ kind: 5, length: 2, offset: 0 }]);
    const five = tcpOptions(tcpOpt.sack([1, 2], [3, 4], [5, 6], [7, 8], [9, 10]));
    const r = parse(five);
    expect(r.sackBlocks).toBeUndefined();
    expect(r.malformed).toEqual([{ kind: 5, length: 42, offset: 0 }]);
  });

  it('errors report the offset of the offending length byte relative to base', () => {
    const r = TcpOptionsRepr.parse(Uint8Array.from([1, 1, 0x22, 0]), 0, 4, 20);
    expect(isWireError(r) && r.offset).toBe(23);
    // An option with no room for its length byte ends the walk without failing the segment.
    const trunc = TcpOptionsRepr.parse(Uint8Array.from([1, 1, 1, 2]), 0, 4, 20);
    expect(isWireError(trunc)).toBe(false);
    expect(!isWireError(trunc) && trunc.malformed).toEqual([{ kind: 2, length: 0, offset: 23 }]);
  });

  it('parses only inside the given range (bytes beyond len are not read)', () => {
    // An MSS whose value bytes lie just beyond the area is an overrun: listed, never read past the end.
    const b = Uint8Array.from([1, 1, 2, 4, 0x05, 0xb4]);
    const cut = TcpOptionsRepr.parse(b, 0, 4);
    expect(!isWireError(cut) && cut.mss).toBeUndefined();
    expect(!isWireError(cut) && cut.malformed).toEqual([{ kind: 2, length: 4, offset: 2 }]);
    expect(parse(b).mss).toBe(1460);
  });

  it('clampWindowShift follows RFC 7323 §2.3', () => {
    expect([0, 7, 14, 15, 255].map(clampWindowShift)).toEqual([0, 7, 14, 14, 14]);
  });

  it('emit refuses values that cannot be sent', () => {
    const emit = (o: object) => () => TcpOptionsRepr.emit(o, new Uint8Array(64), 0);
    expect(emit({ windowScale: 15 })).toThrow(EmitError);
    expect(emit({ mss: 70000 })).toThrow(EmitError);
    expect(emit({ sackBlocks: [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]] })).toThrow(EmitError);
    expect(emit({ mss: 1, timestamps: { tsVal: 1, tsEcr: 2 }, windowScale: 1, sackBlocks: [[1, 2], [3, 4], [5, 6]] })).toThrow(EmitError);
    expect(() => TcpOptionsRepr.emit({ mss: 1 }, new Uint8Array(3), 0)).toThrow(EmitError);
  });

  const u32 = fc.integer({ min: 0, max: 0xffffffff });
  const optionsArb = fc
    .record(
      {
        mss: fc.integer({ min: 0, max: 0xffff }),
        windowScale: fc.integer({ min: 0, max: 14 }),
        sackPermitted: fc.boolean(),
        timestamps: fc.record({ tsVal: u32, tsEcr: u32 }),
        sackBlocks: fc.array(fc.tuple(u32, u32), { minLength: 1, maxLength: 4 }),
      },
      { requiredKeys: ['sackPermitted'] },
    )
    .filter((o) => TcpOptionsRepr.bufferLen(o) <= TCP_MAX_OPTIONS_LEN);

  it('emit then parse round-trips, 4-byte aligned, at any buffer offset', () => {
    fc.assert(
      fc.property(optionsArb, fc.nat(7), (o, at) => {
        const len = TcpOptionsRepr.bufferLen(o);
        expect(len % 4).toBe(0);
        const b = new Uint8Array(at + len + 4).fill(0xee);
        expect(TcpOptionsRepr.emit(o, b, at)).toBe(len);
        expect(b[at + len]).toBe(0xee); // nothing written past bufferLen
        expect(TcpOptionsRepr.parse(b, at, len)).toEqual({ ...o, malformed: [] });
      }),
    );
  });

  it('random option bytes never throw and never loop', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 60 }), (b) => {
        const r = TcpOptionsRepr.parse(b, 0, b.length);
        if (isWireError(r)) return;
        // Only the last malformed entry may overrun the area (it ends the walk); all start inside it.
        r.malformed.forEach((m, i) => {
          expect(m.offset).toBeLessThan(b.length);
          if (i < r.malformed.length - 1) expect(m.offset + m.length).toBeLessThanOrEqual(b.length);
        });
      }),
      { numRuns: 5000 },
    );
  });
});
