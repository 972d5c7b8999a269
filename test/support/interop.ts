// Interop-test helpers over a real Linux kernel: a TAP device inside a private namespace reached
// through VdePlugDevice, a collector that drains a LinkDevice and lets a test wait for a frame, frame
// builders made with our own codecs (ARP request, ICMP echo request), matchers that parse the
// kernel's answers with our codecs, and a one-line frame description for observation logs.

import { VdePlugDevice } from '../../adapters/vde-plug/device.js';
import type { VdePlugOptions } from '../../adapters/vde-plug/device.js';
import { tsChecksum } from '../../src/checksum/index.js';
import type { LinkDevice } from '../../src/ports/link.js';
import { formatIpv4, formatIpv6, formatMac, MAC_BROADCAST, parseIpv4, parseMac } from '../../src/wire/address.js';
import type { Ipv4Address, MacAddress } from '../../src/wire/address.js';
import { ArpOp, ArpPacket, ArpRepr } from '../../src/wire/arp.js';
import { EthernetFrame, EthernetRepr } from '../../src/wire/ethernet.js';
import type { EthernetRepr as EthernetReprT } from '../../src/wire/ethernet.js';
import { EtherType } from '../../src/wire/ethertype.js';
import { Icmpv4Packet, Icmpv4Repr } from '../../src/wire/icmpv4.js';
import { Icmpv6Type } from '../../src/wire/icmpv6.js';
import { IpProtocol } from '../../src/wire/ip-protocol.js';
import { Ipv4Packet, Ipv4Repr } from '../../src/wire/ipv4.js';
import type { Ipv4Repr as Ipv4ReprT } from '../../src/wire/ipv4.js';
import { Ipv6Packet } from '../../src/wire/ipv6.js';
import { walkIpv6Chain } from '../../src/wire/ipv6-ext.js';
import { isWireError } from '../../src/wire/error.js';
import { addAddress, linkShow, setLinkUp } from './netns.js';
import type { NamespaceOptions, Topology } from './netns.js';

/** The addressing plan of the TAP tests (INTEROP §0: test ranges only, no default route). */
export const TAP_IP4 = '198.51.100.1';
export const TAP_IP6 = '2001:db8::1';
export const US_IP4 = '198.51.100.2';
export const US_MAC = '02:00:00:00:00:02';

function mustMac(s: string): MacAddress {
  const m = parseMac(s);
  if (m === null) throw new Error(`bad MAC ${s}`);
  return m;
}

function mustIpv4(s: string): Ipv4Address {
  const a = parseIpv4(s);
  if (a === null) throw new Error(`bad IPv4 address ${s}`);
  return a;
}

/** A frame seen by a collector: a private copy and when it arrived (ms since the collector started). */
export interface CollectedFrame {
  readonly at: number;
  readonly bytes: Uint8Array;
}

/**
 * Attaches to a device as its listener and drains it on every onReadable, keeping copies (bounded).
 * Tests wait for a frame matching a predicate, from a mark, with a timeout.
 */
export class FrameCollector {
  readonly frames: CollectedFrame[] = [];
  /** Frames not kept because `maxFrames` was reached. */
  overflow = 0;
  writableEvents = 0;
  readonly linkEvents: boolean[] = [];
  private readonly t0 = performance.now();
  private readonly waiters = new Set<() => void>();
  private readonly taps = new Set<(frame: Uint8Array) => void>();
  private writableWaiters: Array<() => void> = [];

  constructor(
    readonly device: LinkDevice,
    private readonly maxFrames = 20_000,
  ) {
    device.setListener({
      onReadable: () => this.drain(),
      onWritable: () => {
        this.writableEvents++;
        const w = this.writableWaiters;
        this.writableWaiters = [];
        for (const f of w) f();
      },
      onLinkState: (up) => this.linkEvents.push(up),
    });
  }

  /** Calls `fn` with every frame received from now on (lent for the call); returns an unsubscribe. */
  onFrame(fn: (frame: Uint8Array) => void): () => void {
    this.taps.add(fn);
    return () => this.taps.delete(fn);
  }

  /** Index of the next frame to arrive: pass it as `since` to wait only for later frames. */
  mark(): number {
    return this.frames.length;
  }

  /** Receives everything pending now (also done automatically on onReadable). */
  drain(): void {
    // Bounded: at most this many bursts per call, the rest is signalled again by the device.
    for (let i = 0; i < 1000; i++) {
      const n = this.device.receive(this.device.capabilities.maxBurst, (f) => {
        if (this.frames.length < this.maxFrames) this.frames.push({ at: performance.now() - this.t0, bytes: f.slice() });
        else this.overflow++;
        for (const t of this.taps) t(f);
      });
      if (n === 0) break;
    }
    for (const w of [...this.waiters]) w();
  }

  /** Resolves with the first non-null `match` result among frames from index `since`. */
  waitFor<T>(match: (frame: Uint8Array) => T | null, timeoutMs: number, since = 0): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let next = since;
      const check = (): boolean => {
        for (; next < this.frames.length; next++) {
          const r = match(this.frames[next]!.bytes);
          if (r !== null) {
            done();
            resolve(r);
            return true;
          }
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching frame within ${timeoutMs} ms (${this.frames.length - since} frames seen: ${this.describeFrom(since)})`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter = (): void => void check();
      this.waiters.add(waiter);
      check();
    });
  }

  /** Resolves on the next onWritable, rejects after `timeoutMs`. */
  waitWritable(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.writableWaiters = this.writableWaiters.filter((w) => w !== fire);
        reject(new Error(`no onWritable within ${timeoutMs} ms`));
      }, timeoutMs);
      const fire = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.writableWaiters.push(fire);
    });
  }

  /** One line per frame from `since`, for failure messages and observation logs. */
  describeFrom(since = 0, max = 20): string {
    return this.frames
      .slice(since, since + max)
      .map((f) => `[${f.at.toFixed(0)}ms] ${describeFrame(f.bytes)}`)
      .join('; ');
  }
}

export interface TransmitAllResult {
  /** Frames the device took (transmit() returned true). */
  readonly accepted: number;
  /** transmit() calls answered "busy", each followed by a wait for onWritable. */
  readonly busy: number;
}

/**
 * Sends every frame, honouring backpressure: on "busy" waits for onWritable (through `collector`)
 * and retries the same frame. Bounded by `timeoutMs` overall; rejects when it runs out.
 */
export async function transmitAll(collector: FrameCollector, frames: readonly Uint8Array[], timeoutMs = 10_000): Promise<TransmitAllResult> {
  const deadline = Date.now() + timeoutMs;
  const dev = collector.device;
  let accepted = 0;
  let busy = 0;
  for (const f of frames) {
    // Each retry follows an onWritable, so this inner loop is bounded by the deadline.
    while (!dev.transmit(f)) {
      busy++;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`transmitAll: out of time after ${accepted} of ${frames.length} frames`);
      await collector.waitWritable(left);
    }
    accepted++;
  }
  return { accepted, busy };
}

export interface TapFixture {
  readonly topology: Topology;
  readonly ns: string;
  readonly tap: string;
  readonly device: VdePlugDevice;
  readonly collector: FrameCollector;
  /** The TAP's own MAC, as the kernel reports it. */
  readonly tapMac: MacAddress;
}

export interface TapFixtureOptions {
  readonly tapName?: string;
  /** Addresses put on the TAP (IPv6 ones with nodad); default 198.51.100.1/24 and 2001:db8::1/64. */
  readonly addresses?: readonly string[];
  readonly namespace?: NamespaceOptions;
  readonly device?: Omit<VdePlugOptions, 'url' | 'netns'>;
}

/**
 * A namespace with `vde_plug tap://NAME` running inside it through VdePlugDevice, the collector
 * attached before the TAP comes up (so the kernel's first frames are seen), addresses added and the
 * link up. Everything is owned by `topology`.
 */
export async function openTapFixture(topology: Topology, opts: TapFixtureOptions = {}): Promise<TapFixture> {
  const tap = opts.tapName ?? 'tap0';
  const ns = await topology.createNamespace('tap', opts.namespace);
  const device = topology.adopt(new VdePlugDevice({ ...opts.device, url: `tap://${tap}`, netns: ns }));
  const collector = new FrameCollector(device);
  await device.opened;
  for (const a of opts.addresses ?? [`${TAP_IP4}/24`, `${TAP_IP6}/64`]) await addAddress(ns, tap, a);
  await setLinkUp(ns, tap);
  const info = await linkShow(ns, tap);
  return { topology, ns, tap, device, collector, tapMac: mustMac(info.address) };
}

/** An Ethernet frame carrying `payloadLen` bytes, header emitted; the payload is the caller's. */
function ethernetFrame(eth: EthernetReprT, payloadLen: number): { frame: Uint8Array; payloadOff: number } {
  const frame = new Uint8Array(EthernetRepr.bufferLen(eth, payloadLen));
  EthernetRepr.emit(eth, frame, 0, payloadLen);
  return { frame, payloadOff: EthernetRepr.headerLen(eth) };
}

/** Broadcast ARP request "who has `targetIp`? tell `senderIp`" (unpadded: a 42-byte runt). */
export function arpRequestFrame(senderMac: string, senderIp: string, targetIp: string): Uint8Array {
  const src = mustMac(senderMac);
  const arp: ArpRepr = { operation: ArpOp.REQUEST, senderMac: src, senderIp: mustIpv4(senderIp), targetMac: 0, targetIp: mustIpv4(targetIp) };
  const { frame, payloadOff } = ethernetFrame({ dst: MAC_BROADCAST, src, vlans: [], ethertype: EtherType.ARP }, ArpRepr.bufferLen());
  ArpRepr.emit(arp, frame, payloadOff);
  return frame;
}

export interface EchoRequestSpec {
  readonly srcMac: string;
  readonly dstMac: MacAddress;
  readonly srcIp: string;
  readonly dstIp: string;
  readonly ident: number;
  readonly seq: number;
  readonly data: Uint8Array;
  readonly ipIdent?: number;
  readonly ttl?: number;
}

/** ICMP echo request in IPv4 in Ethernet, both checksums filled by our emitters. */
export function icmpEchoRequestFrame(s: EchoRequestSpec): Uint8Array {
  const icmp: Icmpv4Repr = { kind: 'echoRequest', ident: s.ident, seq: s.seq, dataLen: s.data.length };
  const icmpLen = Icmpv4Repr.bufferLen(icmp);
  const ip: Ipv4ReprT = {
    src: mustIpv4(s.srcIp),
    dst: mustIpv4(s.dstIp),
    protocol: IpProtocol.ICMP,
    ttl: s.ttl ?? 64,
    dscp: 0,
    ecn: 0,
    ident: s.ipIdent ?? 1,
    dontFrag: true,
    moreFrags: false,
    fragOffset: 0,
    payloadLen: icmpLen,
  };
  const ipLen = Ipv4Repr.bufferLen(ip);
  const { frame, payloadOff } = ethernetFrame({ dst: s.dstMac, src: mustMac(s.srcMac), vlans: [], ethertype: EtherType.IPV4 }, ipLen);
  const icmpOff = payloadOff + Ipv4Repr.headerLen(ip);
  frame.set(s.data, icmpOff + 8);
  Icmpv4Repr.emit(icmp, frame, icmpOff, tsChecksum);
  Ipv4Repr.emit(ip, frame, payloadOff, tsChecksum);
  return frame;
}

/** A unicast ARP reply "`ip` is at `mac`" to the asker of `request`, or null if `request` is no ARP request for `ip`. */
export function arpReplyTo(request: Uint8Array, ip: string, mac: string): Uint8Array | null {
  const eth = EthernetFrame.check(request);
  if (isWireError(eth) || eth.ethertype !== EtherType.ARP) return null;
  const p = ArpPacket.check(request, eth.payloadOffset, eth.payloadLength);
  if (isWireError(p) || p.oper !== ArpOp.REQUEST || p.tpa !== mustIpv4(ip)) return null;
  const me = mustMac(mac);
  const arp: ArpRepr = { operation: ArpOp.REPLY, senderMac: me, senderIp: p.tpa, targetMac: p.sha, targetIp: p.spa };
  const { frame, payloadOff } = ethernetFrame({ dst: p.sha, src: me, vlans: [], ethertype: EtherType.ARP }, ArpRepr.bufferLen());
  ArpRepr.emit(arp, frame, payloadOff);
  return frame;
}

/** Answers the kernel's ARP requests for `ip` with `mac` until the returned function is called. */
export function startArpResponder(collector: FrameCollector, ip: string, mac: string): () => void {
  return collector.onFrame((f) => {
    const reply = arpReplyTo(f, ip, mac);
    // Best effort like a real host: a reply refused by a busy device is simply lost.
    if (reply !== null) collector.device.transmit(reply);
  });
}

export interface ArpReplySeen {
  readonly eth: EthernetReprT;
  readonly arp: ArpRepr;
  readonly frameLen: number;
}

/** Parses `frame` as an ARP reply from `senderIp` to `targetIp`; null if it is anything else. */
export function matchArpReply(frame: Uint8Array, senderIp: string, targetIp: string): ArpReplySeen | null {
  const eth = EthernetFrame.check(frame);
  if (isWireError(eth) || eth.ethertype !== EtherType.ARP) return null;
  const p = ArpPacket.check(frame, eth.payloadOffset, eth.payloadLength);
  if (isWireError(p)) return null;
  const arp = ArpRepr.parse(p);
  if (arp.operation !== ArpOp.REPLY || arp.senderIp !== mustIpv4(senderIp) || arp.targetIp !== mustIpv4(targetIp)) return null;
  return { eth: EthernetRepr.parse(eth), arp, frameLen: frame.length };
}

export interface EchoReplySeen {
  readonly eth: EthernetReprT;
  readonly ip: Ipv4ReprT;
  readonly ipChecksumOk: boolean;
  readonly icmpChecksumOk: boolean;
  readonly icmp: Icmpv4Repr;
  readonly data: Uint8Array;
}

/** Parses `frame` as an ICMPv4 echo reply with `ident`; null if it is anything else. */
export function matchEchoReply(frame: Uint8Array, ident: number): EchoReplySeen | null {
  const eth = EthernetFrame.check(frame);
  if (isWireError(eth) || eth.ethertype !== EtherType.IPV4) return null;
  const ipp = Ipv4Packet.check(frame, eth.payloadOffset, eth.payloadLength);
  if (isWireError(ipp) || ipp.protocol !== IpProtocol.ICMP) return null;
  const ic = Icmpv4Packet.check(frame, ipp.off + ipp.headerLen, ipp.len - ipp.headerLen);
  if (isWireError(ic)) return null;
  const icmp = Icmpv4Repr.parse(ic);
  if (icmp.kind !== 'echoReply' || icmp.ident !== ident) return null;
  return {
    eth: EthernetRepr.parse(eth),
    ip: Ipv4Repr.parse(ipp),
    ipChecksumOk: ipp.verifyChecksum(tsChecksum),
    icmpChecksumOk: ic.verifyChecksum(tsChecksum),
    icmp,
    data: ic.data().slice(),
  };
}

const ICMPV6_NAMES = new Map<number, string>(Object.entries(Icmpv6Type).map(([k, v]) => [v, k.toLowerCase()]));

/** One-line description, e.g. "33:33:00:00:00:16 ipv6 :: > ff02::16 icmpv6 mldv2_report len 90". */
export function describeFrame(frame: Uint8Array): string {
  const eth = EthernetFrame.check(frame);
  if (isWireError(eth)) return `bad ethernet (${eth.toString()}) len ${frame.length}`;
  const head = `${formatMac(eth.src)} > ${formatMac(eth.dst)}`;
  const off = eth.payloadOffset;
  const len = eth.payloadLength;
  if (eth.ethertype === EtherType.ARP) {
    const p = ArpPacket.check(frame, off, len);
    if (isWireError(p)) return `${head} arp (${p.toString()})`;
    const op = p.oper === ArpOp.REQUEST ? 'who-has' : p.oper === ArpOp.REPLY ? 'reply' : `op ${p.oper}`;
    return `${head} arp ${op} ${formatIpv4(p.tpa)} tell ${formatIpv4(p.spa)} len ${frame.length}`;
  }
  if (eth.ethertype === EtherType.IPV4) {
    const p = Ipv4Packet.check(frame, off, len);
    if (isWireError(p)) return `${head} ipv4 (${p.toString()})`;
    return `${head} ipv4 ${formatIpv4(p.src)} > ${formatIpv4(p.dst)} proto ${p.protocol} len ${frame.length}`;
  }
  if (eth.ethertype === EtherType.IPV6) {
    const p = Ipv6Packet.check(frame, off, len);
    if (isWireError(p)) return `${head} ipv6 (${p.toString()})`;
    const chain = walkIpv6Chain(p);
    let upper = `nh ${p.nextHeader}`;
    if (!isWireError(chain)) {
      upper = `proto ${chain.upperProtocol}`;
      if (chain.upperProtocol === IpProtocol.ICMPV6 && chain.upperOffset < p.len) {
        const t = frame[p.off + chain.upperOffset]!;
        upper = `icmpv6 ${ICMPV6_NAMES.get(t) ?? `type ${t}`}`;
      }
    }
    return `${head} ipv6 ${formatIpv6(p.src)} > ${formatIpv6(p.dst)} ${upper} len ${frame.length}`;
  }
  return `${head} ethertype 0x${eth.ethertype.toString(16)} len ${frame.length}`;
}
