// The vde_plug stdio stream format (vdeplug4 libvdestream): a byte stream of frames, each preceded by
// its length as a 2-byte big-endian integer. A length of 0 carries no frame and is skipped. This
// module only (de)frames bytes; it does no I/O and knows nothing about Ethernet.

/** Bytes of the length prefix in front of every frame. */
export const VDE_STREAM_PREFIX_LEN = 2;
/** Largest length the 2-byte prefix can express. */
export const VDE_STREAM_MAX_LEN = 0xffff;

/** Why the byte stream cannot be decoded any further: the peer and we are out of step. */
export class VdeStreamError extends Error {
  override readonly name = 'VdeStreamError';
  constructor(
    message: string,
    /** The offending length field. */
    readonly length: number,
    /** Stream position (bytes consumed before the length field). */
    readonly position: number,
  ) {
    super(message);
  }
}

/** Returns a new buffer holding `frame` behind its length prefix. Throws on a frame above 65535 bytes. */
export function encodeVdeFrame(frame: Uint8Array): Buffer {
  const n = frame.length;
  if (n > VDE_STREAM_MAX_LEN) throw new RangeError(`vde stream: frame of ${n} bytes exceeds ${VDE_STREAM_MAX_LEN}`);
  // allocUnsafe draws small buffers from Node's shared pool: one allocation and one copy per frame.
  const out = Buffer.allocUnsafe(VDE_STREAM_PREFIX_LEN + n);
  out[0] = n >>> 8;
  out[1] = n & 0xff;
  out.set(frame, VDE_STREAM_PREFIX_LEN);
  return out;
}

/**
 * Incremental decoder over arbitrary chunk boundaries: a frame may span several chunks and a chunk may
 * hold many frames. A frame lying wholly inside one chunk is emitted as a subarray of that chunk (no
 * copy), so callers must hand over chunks they will not modify afterwards (Node stream chunks qualify);
 * a frame split across chunks is assembled into its own buffer. Once a length above `maxFrameLen` is
 * seen the decoder is failed for good: there is no resynchronising a length-prefixed stream.
 */
export class VdeStreamDecoder {
  /** First byte of a length prefix split across chunks, or -1. */
  private lenHi = -1;
  /** Frame being assembled across chunks, and how much of it is filled. */
  private partial: Uint8Array | null = null;
  private filled = 0;
  private consumed = 0;
  private failure: VdeStreamError | null = null;
  private skippedEmpty = 0;

  constructor(readonly maxFrameLen: number) {
    if (!Number.isInteger(maxFrameLen) || maxFrameLen < 1 || maxFrameLen > VDE_STREAM_MAX_LEN) {
      throw new RangeError(`vde stream: maxFrameLen ${maxFrameLen} must be in 1..${VDE_STREAM_MAX_LEN}`);
    }
  }

  /** The error that stopped the decoder, if any. */
  get error(): VdeStreamError | null {
    return this.failure;
  }

  /** Zero-length records skipped so far. */
  get emptyRecords(): number {
    return this.skippedEmpty;
  }

  /** Bytes held for a frame or prefix not yet complete. */
  get pendingBytes(): number {
    return (this.lenHi >= 0 ? 1 : 0) + (this.partial !== null ? VDE_STREAM_PREFIX_LEN + this.filled : 0);
  }

  /**
   * Feeds one chunk; calls `emit` for every complete frame, in order. Returns null, or the error that
   * stopped decoding (frames before the bad length were still emitted). After an error every call
   * returns the same error and emits nothing.
   */
  push(chunk: Uint8Array, emit: (frame: Uint8Array) => void): VdeStreamError | null {
    if (this.failure !== null) return this.failure;
    const end = chunk.length;
    let i = 0;
    // Finish what the previous chunk left open.
    if (this.partial !== null) {
      const take = Math.min(this.partial.length - this.filled, end);
      this.partial.set(chunk.subarray(0, take), this.filled);
      this.filled += take;
      i = take;
      if (this.filled < this.partial.length) return null;
      const f = this.partial;
      this.partial = null;
      this.consumed += VDE_STREAM_PREFIX_LEN + f.length;
      emit(f);
    } else if (this.lenHi >= 0 && end > 0) {
      const len = (this.lenHi << 8) | chunk[0]!;
      this.lenHi = -1;
      i = 1;
      const r = this.begin(len, chunk, i, emit);
      if (r < 0) return this.failure;
      i = r;
    }
    while (i < end) {
      if (i + 1 === end) {
        this.lenHi = chunk[i]!;
        return null;
      }
      const len = (chunk[i]! << 8) | chunk[i + 1]!;
      const r = this.begin(len, chunk, i + 2, emit);
      if (r < 0) return this.failure;
      i = r;
    }
    return null;
  }

  /** Drops any partial frame (the stream ended). Returns the bytes discarded. */
  reset(): number {
    const n = this.pendingBytes;
    this.lenHi = -1;
    this.partial = null;
    this.filled = 0;
    return n;
  }

  // Handles one length field whose body starts at chunk[at]: emits the frame if it is complete, else
  // starts assembling it. Returns the index after what it consumed, or -1 on a bad length.
  private begin(len: number, chunk: Uint8Array, at: number, emit: (frame: Uint8Array) => void): number {
    if (len === 0) {
      this.skippedEmpty++;
      this.consumed += VDE_STREAM_PREFIX_LEN;
      return at;
    }
    if (len > this.maxFrameLen) {
      this.failure = new VdeStreamError(
        `vde stream: frame length ${len} exceeds the ${this.maxFrameLen}-byte maximum at stream byte ${this.consumed}`,
        len,
        this.consumed,
      );
      return -1;
    }
    const avail = chunk.length - at;
    if (avail >= len) {
      this.consumed += VDE_STREAM_PREFIX_LEN + len;
      emit(chunk.subarray(at, at + len));
      return at + len;
    }
    const p = new Uint8Array(len);
    p.set(chunk.subarray(at), 0);
    this.partial = p;
    this.filled = avail;
    return chunk.length;
  }
}
