// The vde_plug stdio stream codec (adapters/vde-plug/framing.ts): no processes, no network.
import { describe, expect, it } from 'vitest';
import { encodeVdeFrame, VDE_STREAM_MAX_LEN, VdeStreamDecoder, VdeStreamError } from '../../adapters/vde-plug/framing.js';

function frameOf(len: number, seed: number): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 0; i < len; i++) f[i] = (seed * 31 + i) & 0xff;
  return f;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Feeds `stream` cut at `cuts` and returns copies of the frames emitted. */
function decodeCut(dec: VdeStreamDecoder, stream: Uint8Array, cuts: number[]): { frames: Uint8Array[]; err: VdeStreamError | null } {
  const frames: Uint8Array[] = [];
  let err: VdeStreamError | null = null;
  let at = 0;
  for (const c of [...cuts, stream.length]) {
    err = dec.push(stream.subarray(at, c), (f) => frames.push(f.slice()));
    at = c;
    if (err !== null) break;
  }
  return { frames, err };
}

describe('vde stream framing', () => {
  it('encode_prefixes_big_endian_length', () => {
    const f = frameOf(0x1234 & 0x5ff, 1);
    const e = encodeVdeFrame(f);
    expect(e.length).toBe(f.length + 2);
    expect((e[0]! << 8) | e[1]!).toBe(f.length);
    expect(e.subarray(2)).toEqual(Buffer.from(f));
    expect(() => encodeVdeFrame(new Uint8Array(VDE_STREAM_MAX_LEN + 1))).toThrow(RangeError);
  });

  it('decode_several_frames_in_one_chunk_zero_copy', () => {
    const frames = [frameOf(42, 1), frameOf(60, 2), frameOf(1514, 3)];
    const stream = concat(frames.map((f) => encodeVdeFrame(f)));
    const dec = new VdeStreamDecoder(1518);
    const seen: Uint8Array[] = [];
    expect(dec.push(stream, (f) => seen.push(f))).toBeNull();
    expect(seen.map((f) => Buffer.from(f))).toEqual(frames.map((f) => Buffer.from(f)));
    // Whole frames are views into the chunk, not copies.
    expect(seen.every((f) => f.buffer === stream.buffer)).toBe(true);
    expect(dec.pendingBytes).toBe(0);
  });

  it('decode_every_split_point_yields_the_same_frames', () => {
    const frames = [frameOf(14, 1), frameOf(100, 2), frameOf(3, 3), frameOf(1518, 4)];
    const stream = concat(frames.map((f) => encodeVdeFrame(f)));
    const want = Buffer.concat(frames.map((f) => Buffer.from(f)));
    const bad: number[] = [];
    for (let cut = 0; cut <= stream.length; cut++) {
      const { frames: got, err } = decodeCut(new VdeStreamDecoder(1518), stream, [cut]);
      const same = err === null && got.length === frames.length && Buffer.concat(got).equals(want);
      if (!same) bad.push(cut);
    }
    expect(bad).toEqual([]);
  });

  it('decode_one_byte_chunks', () => {
    const frames = [frameOf(50, 7), frameOf(1, 8), frameOf(300, 9)];
    const stream = concat(frames.map((f) => encodeVdeFrame(f)));
    const cuts = Array.from({ length: stream.length - 1 }, (_, i) => i + 1);
    const dec = new VdeStreamDecoder(1518);
    const { frames: got, err } = decodeCut(dec, stream, cuts);
    expect(err).toBeNull();
    expect(got.map((f) => Buffer.from(f))).toEqual(frames.map((f) => Buffer.from(f)));
    expect(dec.pendingBytes).toBe(0);
  });

  it('decode_skips_zero_length_records', () => {
    const stream = concat([new Uint8Array([0, 0]), encodeVdeFrame(frameOf(20, 1)), new Uint8Array([0, 0, 0, 0]), encodeVdeFrame(frameOf(30, 2))]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const dec = new VdeStreamDecoder(1518);
      const { frames, err } = decodeCut(dec, stream, [cut]);
      expect(err).toBeNull();
      expect(frames.map((f) => f.length)).toEqual([20, 30]);
      expect(dec.emptyRecords).toBe(3);
    }
  });

  it('decode_oversize_length_fails_for_good_after_earlier_frames', () => {
    const stream = concat([encodeVdeFrame(frameOf(60, 1)), new Uint8Array([0x05, 0xef]), frameOf(1519, 2)]);
    const dec = new VdeStreamDecoder(1518);
    const got: number[] = [];
    const err = dec.push(stream, (f) => got.push(f.length));
    expect(got).toEqual([60]);
    expect(err).toBeInstanceOf(VdeStreamError);
    expect(err!.length).toBe(1519);
    expect(err!.position).toBe(62);
    expect(err!.message).toMatch(/1519 exceeds the 1518-byte maximum/);
    // Nothing more is decoded once the stream is out of step.
    expect(dec.push(encodeVdeFrame(frameOf(10, 3)), (f) => got.push(f.length))).toBe(err);
    expect(got).toEqual([60]);
  });

  it('decode_oversize_length_split_across_chunks', () => {
    const dec = new VdeStreamDecoder(100);
    expect(dec.push(new Uint8Array([0x00]), () => undefined)).toBeNull();
    expect(dec.pendingBytes).toBe(1);
    expect(dec.push(new Uint8Array([0x65, 1, 2]), () => undefined)?.length).toBe(101);
  });

  it('decode_partial_frame_is_held_then_reset', () => {
    const dec = new VdeStreamDecoder(1518);
    const enc = encodeVdeFrame(frameOf(100, 1));
    expect(dec.push(enc.subarray(0, 50), () => expect.fail('no frame yet'))).toBeNull();
    expect(dec.pendingBytes).toBe(50);
    expect(dec.reset()).toBe(50);
    expect(dec.pendingBytes).toBe(0);
  });

  it('decoder_rejects_bad_max', () => {
    expect(() => new VdeStreamDecoder(0)).toThrow(RangeError);
    expect(() => new VdeStreamDecoder(VDE_STREAM_MAX_LEN + 1)).toThrow(RangeError);
  });
});
