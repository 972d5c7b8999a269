// Big-endian field access over Uint8Array. Callers have already validated lengths with a checked
// view, so these helpers do no bounds checks of their own (out-of-range reads yield NaN-free garbage
// only if a caller skipped validation, which tests guard against).

export function readU16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

export function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

export function writeU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/** 48-bit big-endian value as a JS number (exact: 48 bits < 2^53). */
export function readU48(b: Uint8Array, o: number): number {
  return readU16(b, o) * 0x1_0000_0000 + readU32(b, o + 2);
}

export function writeU48(b: Uint8Array, o: number, v: number): void {
  writeU16(b, o, Math.floor(v / 0x1_0000_0000));
  writeU32(b, o + 2, v >>> 0);
}

export function hex(b: Uint8Array, off = 0, len = b.length - off): string {
  let s = '';
  for (let i = off; i < off + len; i++) s += b[i]!.toString(16).padStart(2, '0');
  return s;
}

export function fromHex(s: string): Uint8Array {
  const clean = s.replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0) throw new RangeError('odd hex length');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) {
    const v = Number.parseInt(clean.substr(i * 2, 2), 16);
    if (Number.isNaN(v)) throw new RangeError(`bad hex at ${i * 2}`);
    out[i] = v;
  }
  return out;
}
