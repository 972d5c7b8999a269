// PcapWriterDevice and TracerDevice: they observe without changing behaviour (backpressure, pollAt,
// listener), and what they record parses back with the right directions and clock timestamps.
import { describe, expect, it } from 'vitest';
import { createMemoryPair, defaultFrameFormat, formatInstant, LinkDecorator, PcapWriterDevice, TracerDevice } from '../../src/phy/index.js';
import { readCaptureBytes, recordDirection } from '../../src/wire/capture.js';
import type { CaptureInterface } from '../../src/wire/capture.js';
import type { LinkDevice, LinkListener, RxMeta } from '../../src/ports/link.js';
import type { TraceEvent } from '../../src/ports/trace.js';
import { Duration, Instant } from '../../src/time/instant.js';
import { concat } from '../pcap/support.js';
import { drain, FakeClock, flushMicrotasks, numbered, recordingListener, seqOf } from './support.js';

/** A device whose pollAt is fixed, to check decorators pass it through. */
class TimedDevice implements LinkDevice {
  readonly capabilities = createMemoryPair().a.capabilities;
  readonly up = true;
  receive(_b: number, _s: (f: Uint8Array, m: RxMeta) => void): number {
    return 0;
  }
  transmit(): boolean {
    return true;
  }
  pollAt(now: Instant): Instant {
    return Instant.add(now, Duration.micros(1234));
  }
  setListener(_l: LinkListener | null): void {}
  close(): void {}
}

describe('PcapWriterDevice', () => {
  for (const format of ['pcapng', 'pcap'] as const) {
    it(`${format}: records rx and tx with clock timestamps${format === 'pcapng' ? ' and directions' : ''}`, () => {
      const clock = new FakeClock(5_000_000);
      const { a, b } = createMemoryPair({ notify: 'sync' });
      const chunks: Uint8Array[] = [];
      const dev = new PcapWriterDevice(a, { sink: (c) => chunks.push(c), clock, format, epochUs: 1_700_000_000_000_000, interfaceName: 'mem0' });
      expect(chunks.length).toBeGreaterThan(0); // header written at construction
      dev.transmit(numbered(1));
      clock.advance(250);
      b.transmit(numbered(2, 80));
      clock.advance(1);
      expect(drain(dev).map(seqOf)).toEqual([2]);
      expect(drain(b).map(seqOf)).toEqual([1]);
      expect(dev.recorded).toBe(2);
      const ifaces: CaptureInterface[] = [];
      const recs: Array<{ sec: number; nsec: number; len: number; dir: string; seq: number; lt: number }> = [];
      const s = readCaptureBytes(
        concat(chunks),
        (r) => recs.push({ sec: r.tsSec, nsec: r.tsNsec, len: r.capturedLength, dir: recordDirection(r), seq: seqOf(r.data), lt: r.linkType }),
        { onInterface: (i) => ifaces.push(i) },
      );
      expect(s.error).toBeNull();
      expect(s.format).toBe(format);
      const inbound = format === 'pcapng' ? 'inbound' : 'unknown';
      const outbound = format === 'pcapng' ? 'outbound' : 'unknown';
      expect(recs).toEqual([
        { sec: 1_700_000_005, nsec: 0, len: 60, dir: outbound, seq: 1, lt: 1 },
        { sec: 1_700_000_005, nsec: 251_000, len: 80, dir: inbound, seq: 2, lt: 1 },
      ]);
      if (format === 'pcapng') expect(ifaces[0]!.name).toBe('mem0');
    });
  }

  it('does not record a frame the inner device refused, and keeps backpressure and onWritable', async () => {
    const clock = new FakeClock();
    const { a, b } = createMemoryPair({ queueFrames: 1 });
    const chunks: Uint8Array[] = [];
    const dev = new PcapWriterDevice(a, { sink: (c) => chunks.push(c), clock });
    const l = recordingListener();
    dev.setListener(l);
    expect(dev.transmit(numbered(1))).toBe(true);
    expect(dev.transmit(numbered(2))).toBe(false);
    expect(dev.recorded).toBe(1);
    drain(b);
    await flushMicrotasks();
    expect(l.events).toContain('writable');
    let n = 0;
    readCaptureBytes(concat(chunks), () => n++);
    expect(n).toBe(1);
  });

  it('uses raw-IP link type on an IP medium and passes pollAt through', () => {
    const { a } = createMemoryPair({ capabilities: { medium: 'ip' } });
    const chunks: Uint8Array[] = [];
    const dev = new PcapWriterDevice(a, { sink: (c) => chunks.push(c), clock: new FakeClock(), format: 'pcap' });
    dev.transmit(new Uint8Array(20));
    const lts: number[] = [];
    readCaptureBytes(concat(chunks), (r) => lts.push(r.linkType));
    expect(lts).toEqual([101]);
    expect(dev.pollAt(Instant.fromMicros(5))).toBe(Instant.NEVER);
    const timed = new PcapWriterDevice(new TimedDevice(), { sink: () => undefined, clock: new FakeClock() });
    expect(timed.pollAt(Instant.fromMicros(100))).toBe(1334);
  });
});

describe('TracerDevice', () => {
  it('writes one line per frame with time, name and direction; busy transmits are marked', () => {
    const clock = new FakeClock(3_000_042);
    const { a, b } = createMemoryPair({ queueFrames: 1, notify: 'sync' });
    const lines: string[] = [];
    const events: TraceEvent[] = [];
    const dev = new TracerDevice(a, { clock, out: (l) => lines.push(l), name: 'eth0', trace: { trace: (e) => events.push({ ...e, frame: e.frame.slice() }) } });
    dev.transmit(Uint8Array.of(1, 2, 3));
    dev.transmit(Uint8Array.of(4));
    b.receive(1, () => undefined);
    b.transmit(new Uint8Array(40).fill(0xab));
    clock.advance(7);
    drain(dev);
    expect(lines).toEqual([
      '3.000042 eth0 tx len=3 010203',
      '3.000042 eth0 busy len=1 04',
      `3.000049 eth0 rx len=40 ${'ab'.repeat(32)}...`,
    ]);
    expect(events.map((e) => [e.direction, e.source, e.frame.length, e.time])).toEqual([
      ['tx', 'eth0', 3, 3_000_042],
      ['rx', 'eth0', 40, 3_000_049],
    ]);
  });

  it('uses an injected formatter and forwards the receive metadata and frames unchanged', () => {
    const { a, b } = createMemoryPair({ notify: 'sync' });
    const lines: string[] = [];
    const dev = new TracerDevice(a, { clock: new FakeClock(), out: (l) => lines.push(l), format: (f) => `seq=${seqOf(f)}` });
    b.transmit(numbered(77));
    const got: number[] = [];
    dev.receive(8, (f, meta) => {
      got.push(seqOf(f));
      expect(meta).toEqual({});
    });
    expect(got).toEqual([77]);
    expect(lines).toEqual(['0.000000 link rx seq=77']);
  });

  it('decorators stack: tracer over pcap writer over a pair, all still one device', () => {
    const clock = new FakeClock();
    const { a, b } = createMemoryPair({ notify: 'sync' });
    const chunks: Uint8Array[] = [];
    const lines: string[] = [];
    const dev: LinkDecorator = new TracerDevice(new PcapWriterDevice(a, { sink: (c) => chunks.push(c), clock }), { clock, out: (l) => lines.push(l) });
    const l = recordingListener();
    dev.setListener(l);
    b.transmit(numbered(5));
    expect(l.events).toEqual(['readable']);
    expect(drain(dev).map(seqOf)).toEqual([5]);
    expect(lines).toHaveLength(1);
    let n = 0;
    readCaptureBytes(concat(chunks), () => n++);
    expect(n).toBe(1);
    expect(dev.capabilities).toBe(a.capabilities);
    expect(dev.up).toBe(true);
  });

  it('default format and time helpers', () => {
    expect(defaultFrameFormat(Uint8Array.of(0, 255), 1)).toBe('len=2 00...');
    expect(formatInstant(Instant.fromMicros(12_000_001))).toBe('12.000001');
  });
});
