// Parse failures on wire input. Parsers return a WireError instead of throwing: a malformed packet
// is data, not a program error. Only programmer errors (emitting into a too-small buffer) throw.

export class WireError {
  /** Protocol whose header was malformed, e.g. 'ipv4'. */
  readonly proto: string;
  /** The header field that failed validation, named as in its RFC, e.g. 'total_length'. */
  readonly field: string;
  /** Human-readable reason. */
  readonly reason: string;
  /** Byte offset of the field relative to the start of the buffer handed to the parser, if known. */
  readonly offset: number;

  constructor(proto: string, field: string, reason: string, offset = -1) {
    this.proto = proto;
    this.field = field;
    this.reason = reason;
    this.offset = offset;
  }

  toString(): string {
    const at = this.offset >= 0 ? ` at byte ${this.offset}` : '';
    return `${this.proto}: bad ${this.field}${at}: ${this.reason}`;
  }
}

export function isWireError(value: unknown): value is WireError {
  return value instanceof WireError;
}

/** Thrown only on programmer error while emitting (e.g. buffer too small for bufferLen()). */
export class EmitError extends Error {
  override readonly name = 'EmitError';
}
