// Node fs wrappers around the pure capture reader and writers in src/wire: stream a pcap/pcapng file
// through CaptureReader with fs.createReadStream (memory stays bounded by one chunk plus one block),
// iterate copied records asynchronously, and write captures with buffered file writes.
// A malformed capture is reported as a CaptureError value in the summary; I/O failures (ENOENT,
// EACCES) reject with the fs error, as Node's own APIs do.

import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import {
  CaptureReader,
  copyRecord,
  createCaptureWriter,
  readCaptureBytes,
} from '../wire/capture.js';
import type {
  CaptureError,
  CaptureFormat,
  CaptureReaderOptions,
  CaptureReadSummary,
  CaptureRecord,
  CaptureWriter,
  OwnedCaptureRecord,
  WritePacketMeta,
} from '../wire/capture.js';
import { PcapngWriter } from '../wire/pcapng.js';
import type { PcapngInterfaceSpec } from '../wire/pcapng.js';

export type { CaptureReadSummary } from '../wire/capture.js';

export interface ReadCaptureFileOptions extends CaptureReaderOptions {
  /** Read chunk size; default 1 MiB. */
  readonly highWaterMark?: number;
  /** Aborts the read; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * Streams a capture file through the reader. Records are lent to onRecord for the call only.
 * Resolves with a summary whose `error` is the CaptureError that stopped the read (records before it
 * were delivered), or null.
 */
export function readCaptureFile(
  path: string,
  onRecord: (rec: CaptureRecord) => void,
  opts: ReadCaptureFileOptions = {},
): Promise<CaptureReadSummary> {
  return new Promise((resolve, reject) => {
    const reader = new CaptureReader(onRecord, opts);
    const stream = createReadStream(path, { highWaterMark: opts.highWaterMark ?? 1 << 20, signal: opts.signal });
    const summary = (error: CaptureError | null): CaptureReadSummary => ({
      format: reader.format,
      records: reader.records,
      bytes: reader.bytes,
      error,
    });
    let settled = false;
    stream.on('data', (chunk) => {
      if (settled) return;
      let ok: boolean;
      try {
        ok = reader.push(chunk as Buffer);
      } catch (e) {
        // onRecord threw: stop reading and surface the caller's own exception.
        settled = true;
        stream.destroy();
        reject(e);
        return;
      }
      if (!ok) {
        settled = true;
        stream.destroy();
        resolve(summary(reader.error));
      }
    });
    stream.on('error', (e) => {
      if (settled) return;
      settled = true;
      reject(e);
    });
    stream.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(summary(reader.end()));
    });
  });
}

/** Reads an in-memory capture synchronously (records lent for the call). */
export function readCaptureBuffer(
  bytes: Uint8Array,
  onRecord: (rec: CaptureRecord) => void,
  opts: CaptureReaderOptions = {},
): CaptureReadSummary {
  return readCaptureBytes(bytes, onRecord, opts);
}

/** The error thrown by captureRecords() when the file is malformed; `capture` holds the details. */
export class CaptureFileError extends Error {
  override readonly name = 'CaptureFileError';
  readonly code = 'ECAPTURE';
  constructor(
    readonly path: string,
    readonly capture: CaptureError,
  ) {
    super(`${path}: ${capture.message}`);
  }
}

/**
 * Yields every record of a capture file as an owned copy. Reads one chunk at a time, so memory is
 * bounded by the records of one chunk. After the last good record, a malformed file throws
 * CaptureFileError.
 */
export async function* captureRecords(
  path: string,
  opts: ReadCaptureFileOptions = {},
): AsyncGenerator<OwnedCaptureRecord, void, undefined> {
  let batch: OwnedCaptureRecord[] = [];
  const reader = new CaptureReader((rec) => batch.push(copyRecord(rec)), opts);
  const stream = createReadStream(path, { highWaterMark: opts.highWaterMark ?? 1 << 20, signal: opts.signal });
  try {
    for await (const chunk of stream) {
      const ok = reader.push(chunk as Buffer);
      const out = batch;
      batch = [];
      yield* out;
      if (!ok) break;
    }
  } finally {
    stream.destroy();
  }
  const err = reader.end();
  yield* batch;
  if (err !== null) throw new CaptureFileError(path, err);
}

export interface CaptureFileWriterOptions {
  readonly format: CaptureFormat;
  /** Link type of interface 0. */
  readonly linkType: number;
  /** pcap timestamp resolution (default 'us'); pcapng is always ns. */
  readonly resolution?: 'us' | 'ns';
  readonly snaplen?: number;
  /** pcapng if_name of interface 0. */
  readonly interfaceName?: string;
  /** pcapng: further interfaces (ids 1, 2, ...). */
  readonly extraInterfaces?: readonly PcapngInterfaceSpec[];
  /** Bytes gathered before a write is issued; default 256 KiB. */
  readonly bufferSize?: number;
}

/**
 * Writes a capture file. writePacket() is synchronous and buffers; full buffers are written in the
 * background in order. flush()/close() wait for the data to reach the file and report any write error.
 */
export class CaptureFileWriter {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private pending: Promise<void> = Promise.resolve();
  private failure: unknown = undefined;
  private closed = false;
  private readonly writer: CaptureWriter;
  private readonly limit: number;
  packets = 0;

  private constructor(
    private readonly fh: FileHandle,
    opts: CaptureFileWriterOptions,
  ) {
    this.limit = opts.bufferSize ?? 256 * 1024;
    const sink = (c: Uint8Array): void => {
      this.chunks.push(c);
      this.buffered += c.length;
    };
    if (opts.format === 'pcapng' && opts.extraInterfaces !== undefined) {
      const w = new PcapngWriter(sink, {
        interfaces: [{ linkType: opts.linkType, name: opts.interfaceName, snaplen: opts.snaplen }, ...opts.extraInterfaces],
      });
      this.writer = w;
    } else {
      this.writer = createCaptureWriter(sink, opts);
    }
  }

  /** Creates (truncates) `path` and writes the file header. */
  static async open(path: string, opts: CaptureFileWriterOptions): Promise<CaptureFileWriter> {
    const fh = await open(path, 'w');
    try {
      return new CaptureFileWriter(fh, opts);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  get format(): CaptureFormat {
    return this.writer.format;
  }

  /** Appends one packet (copied). Throws if closed, after a write failure, or on invalid arguments. */
  writePacket(data: Uint8Array, tsSec: number, tsNsec: number, meta?: WritePacketMeta): void {
    if (this.closed) throw new Error('CaptureFileWriter is closed');
    if (this.failure !== undefined) throw this.failure;
    this.writer.writePacket(data, tsSec, tsNsec, meta);
    this.packets++;
    if (this.buffered >= this.limit) this.startWrite();
  }

  /** Writes a record read from another capture, keeping its timestamp and lengths. */
  writeRecord(rec: CaptureRecord): void {
    this.writePacket(rec.data, rec.tsSec, rec.tsNsec, { originalLength: rec.originalLength, interfaceId: rec.interfaceId });
  }

  /** Waits until everything written so far is in the file. */
  async flush(): Promise<void> {
    this.startWrite();
    await this.pending;
    if (this.failure !== undefined) throw this.failure;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      await this.fh.close();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private startWrite(): void {
    if (this.buffered === 0) return;
    const data = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [];
    this.buffered = 0;
    this.pending = this.pending.then(async () => {
      if (this.failure !== undefined) return;
      try {
        let off = 0;
        while (off < data.length) {
          const { bytesWritten } = await this.fh.write(data, off, data.length - off);
          off += bytesWritten;
        }
      } catch (e) {
        this.failure = e;
      }
    });
  }
}
