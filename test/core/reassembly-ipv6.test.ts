// IPv6 reassembly glue (RFC 8200 §4.5) driven through its documented interface, as the IPv6 module
// will drive it: packets checked by Ipv6Packet.check, chains from walkIpv6Chain, input() per fragment,
// ICMPv6 through the hooks. Checks the rebuilt packet (Fragment header removed, Next Header patched in
// the right place, Payload Length), ordering, keys, and the 60 s timeout with Time Exceeded only when
// the offset-0 fragment arrived.
import { describe, expect, it } from 'vitest';
import { Icmpv6Module } from '../../src/core/icmpv6.js';
import { Ipv6Module } from '../../src/core/ipv6.js';
import { IPV6_REASSEMBLY_LAYER, type Ipv6Reassembled, Ipv6ReassemblyModule } from '../../src/core/ipv6-reassembly.js';
import { MldModule } from '../../src/core/mld.js';
import { NdpModule } from '../../src/core/ndp.js';
import { LinkDecorator, createMemoryPair } from '../../src/phy/index.js';
import { EthernetFrame } from '../../src/wire/ethernet.js';
import { Duration, Instant } from '../../src/time/instant.js';
import { parseIpv6 } from '../../src/wire/address.js';
import { isWireError } from '../../src/wire/error.js';
import { Ipv6Packet } from '../../src/wire/ipv6.js';
import { walkIpv6Chain } from '../../src/wire/ipv6-ext.js';
import { type ExtSpec, IP6_A, ipv6 } from '../support/build-l3.js';
import { FakeClock, closeAndCheckLeaks, runFor, settle, testStack } from '../support/stack-harness.js';

interface Meta {
  readonly tag: string;
}

function harness() {
  const clock = new FakeClock();
  const mod = new Ipv6ReassemblyModule<Meta>();
  const t = testStack('v6', [mod]);
  const delivered: Ipv6Reassembled[] = [];
  const paramProblems: Array<{ code: number; pointer: number; tag: string }> = [];
  const timeExceeded: Array<{ quote: Uint8Array; tag: string }> = [];
  mod.setHooks({
    paramProblem: (_p, code, pointer, meta) => paramProblems.push({ code, pointer, tag: meta.tag }),
    timeExceeded: (quote, meta) => timeExceeded.push({ quote: quote.slice(), tag: meta.tag }),
  });
  const feed = (pkt: Uint8Array, tag = 'f') => {
    const p = Ipv6Packet.check(pkt);
    if (isWireError(p)) throw p;
    const chain = walkIpv6Chain(p);
    if (isWireError(chain)) throw chain;
    mod.input(p, chain, { tag }, clock.now, (r) => delivered.push(r));
  };
  return { clock, mod, t, delivered, paramProblems, timeExceeded, feed, stats: t.stack.stats };
}

/** The fragmentable part: an 8-byte UDP-like header then `dataLen` patterned bytes. */
function upper(dataLen: number): Uint8Array {
  const b = new Uint8Array(8 + dataLen);
  b.set([0x9c, 0x40, 0x00, 0x35, 0, 0, 0, 0]);
  for (let i = 8; i < b.length; i++) b[i] = (i * 11 + 3) & 0xff;
  return b;
}

function fragments(ident: number, part: Uint8Array, chunk: number, prefix: ExtSpec[] = [], src = IP6_A): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < part.length; off += chunk) {
    const n = Math.min(chunk, part.length - off);
    out.push(ipv6({ src, ext: [...prefix, { type: 'frag', fragOffset: off, more: off + n < part.length, ident }], nextHeader: 17, payload: part.subarray(off, off + n) }));
  }
  return out;
}

describe('IPv6 reassembly glue', () => {
  for (const [name, order] of [
    ['in_order', [0, 1, 2]],
    ['reverse', [2, 1, 0]],
    ['shuffled', [1, 2, 0]],
  ] as const) {
    it(`reassembles_${name}: Fragment header removed, Next Header and Payload Length fixed`, () => {
      const h = harness();
      const part = upper(3000);
      const fs = fragments(7, part, 1232);
      expect(fs.length).toBe(3);
      for (const i of order) h.feed(fs[i]!, `f${i}`);
      expect(h.delivered.length).toBe(1);
      const r = h.delivered[0]!;
      expect(r.nextHeader).toBe(17);
      expect(r.payloadOffset).toBe(40);
      const p = Ipv6Packet.check(r.packet);
      if (isWireError(p)) throw p;
      expect(p.nextHeader).toBe(17);
      expect(p.payloadLength).toBe(part.length);
      expect(p.payload()).toEqual(part);
      expect(h.stats.get(IPV6_REASSEMBLY_LAYER, 'reassembled')).toBe(1);
      expect(h.mod.engine.bytesInUse).toBe(0);
      expect(h.paramProblems).toEqual([]);
      closeAndCheckLeaks(h.t);
    });
  }

  it('keeps the unfragmentable extension headers of the offset-0 fragment and patches the last one\'s Next Header', () => {
    const h = harness();
    const part = upper(2000);
    const hbh: ExtSpec = { type: 'hbh', options: Uint8Array.from([1, 4, 0, 0, 0, 0]) };
    const fs = fragments(8, part, 1024, [hbh]);
    h.feed(fs[1]!);
    h.feed(fs[0]!);
    expect(h.delivered.length).toBe(1);
    const r = h.delivered[0]!;
    expect(r.payloadOffset).toBe(48);
    const p = Ipv6Packet.check(r.packet);
    if (isWireError(p)) throw p;
    expect(p.nextHeader).toBe(0); // still Hop-by-Hop first
    const chain = walkIpv6Chain(p);
    if (isWireError(chain)) throw chain;
    expect(chain.fragment).toBeNull();
    expect(chain.headers.map((x) => x.type)).toEqual([0]);
    expect(chain.upperProtocol).toBe(17);
    expect(chain.upperOffset).toBe(48);
    expect(p.payloadLength).toBe(8 + part.length);
    expect(r.packet.subarray(48)).toEqual(part);
    closeAndCheckLeaks(h.t);
  });

  it('keys by source, destination and identification', () => {
    const h = harness();
    const part = upper(2000);
    const other = parseIpv6('2001:db8::99')!;
    const a = fragments(9, part, 1024);
    const b = fragments(9, part, 1024, [], other);
    const c = fragments(10, part, 1024);
    h.feed(a[0]!);
    h.feed(b[1]!);
    h.feed(c[1]!);
    expect(h.delivered.length).toBe(0);
    expect(h.mod.engine.datagrams).toBe(3);
    h.feed(b[0]!);
    expect(h.delivered.length).toBe(1);
    expect(Ipv6Packet.check(h.delivered[0]!.packet) instanceof Ipv6Packet).toBe(true);
    expect([...h.delivered[0]!.packet.subarray(8, 24)]).toEqual([...other]);
    closeAndCheckLeaks(h.t);
  });

  it('times out at 60 s with Time Exceeded quoting the offset-0 fragment as received; silent without it', () => {
    const h = harness();
    const part = upper(3000);
    const fs = fragments(11, part, 1232);
    const gs = fragments(12, part, 1232);
    h.feed(fs[0]!, 'first');
    h.feed(fs[1]!, 'second');
    h.feed(gs[1]!, 'no-zero');
    expect(h.t.stack.pollAt(h.clock.now)).toBe(Instant.add(h.clock.now, Duration.seconds(60)));
    runFor(h.clock, [h.t.stack], 59_999);
    expect(h.timeExceeded).toEqual([]);
    runFor(h.clock, [h.t.stack], 1);
    expect(h.timeExceeded.length).toBe(1);
    expect(h.timeExceeded[0]!.tag).toBe('first');
    expect(h.timeExceeded[0]!.quote).toEqual(fs[0]);
    expect(h.stats.drops(IPV6_REASSEMBLY_LAYER, 'timeout')).toBe(2);
    expect(h.mod.engine.datagrams).toBe(0);
    expect(h.mod.engine.bytesInUse).toBe(0);
    closeAndCheckLeaks(h.t);
  });

  it('without hooks, errors are only counted', () => {
    const clock = new FakeClock();
    const mod = new Ipv6ReassemblyModule<Meta>({ timeout: Duration.seconds(1) });
    const t = testStack('v6', [mod]);
    const fs = fragments(13, upper(3000), 1232);
    const p = Ipv6Packet.check(fs[0]!);
    if (isWireError(p)) throw p;
    const chain = walkIpv6Chain(p);
    if (isWireError(chain)) throw chain;
    mod.input(p, chain, { tag: 'x' }, clock.now, () => expect.fail('nothing to deliver'));
    runFor(clock, [t.stack], 1000);
    expect(t.stack.stats.get(IPV6_REASSEMBLY_LAYER, 'time_exceeded_no_hook')).toBe(1);
    expect(mod.options.timeout).toBe(Duration.seconds(1));
    closeAndCheckLeaks(t);
  });
});

/** Records what a stack transmits and can drop frames matching a predicate (a lossy cable end). */
class Tap extends LinkDecorator {
  readonly sent: Uint8Array[] = [];
  drop: ((frame: Uint8Array) => boolean) | undefined;
  override transmit(frame: Uint8Array): boolean {
    if (this.drop?.(frame)) return true;
    const ok = this.inner.transmit(frame);
    if (ok) this.sent.push(frame.slice());
    return ok;
  }
}

/** IPv6 packets in `frames` with their Fragment header (if any) and first upper-layer byte. */
function decode6(frames: Uint8Array[]) {
  return frames.flatMap((f) => {
    const e = EthernetFrame.check(f);
    if (isWireError(e) || e.ethertype !== 0x86dd) return [];
    const p = Ipv6Packet.check(f, e.payloadOffset, e.payloadLength);
    if (isWireError(p)) return [];
    const c = walkIpv6Chain(p);
    if (isWireError(c)) return [];
    return [{ fragment: c.fragment, proto: c.upperProtocol, first: f[p.off + c.upperOffset]!, code: f[p.off + c.upperOffset + 1]! }];
  });
}

describe("IPv6 reassembly with the stack's IPv6 module (attached through setFragmentHook)", () => {
  function twoHosts() {
    const clock = new FakeClock();
    const pair = createMemoryPair({ notify: 'sync' });
    const tapA = new Tap(pair.a);
    const tapB = new Tap(pair.b);
    const mods = () => [new Ipv6Module(), new Icmpv6Module(), new NdpModule(), new MldModule(), new Ipv6ReassemblyModule()];
    const a = testStack('a', mods());
    const b = testStack('b', mods());
    a.stack.addInterface(tapA, { mac: 0x02000000000a, addresses: ['2001:db8::1/64'] }, clock.now);
    b.stack.addInterface(tapB, { mac: 0x02000000000b, addresses: ['2001:db8::2/64'] }, clock.now);
    const stacks = [a.stack, b.stack];
    runFor(clock, stacks, 3000); // DAD
    // A small ping resolves neighbours both ways: NDP queues only a few packets per unresolved address.
    const icmpA = a.stack.module<Icmpv6Module>('icmpv6')!;
    icmpA.sendEchoRequest(parseIpv6('2001:db8::2')!, 1, 1, new Uint8Array(8), clock.now);
    settle(clock, stacks);
    expect(b.stack.stats.get('icmpv6', 'echo_requests_received')).toBe(1);
    tapA.sent.length = 0;
    tapB.sent.length = 0;
    return { clock, tapA, tapB, a, b, stacks, icmpA };
  }

  for (const size of [4000, 65000]) {
    it(`ping6_${size}_bytes: fragmented request reassembled by B, fragmented reply reassembled by A`, () => {
      const t = twoHosts();
      const data = new Uint8Array(size).map((_, i) => (i * 29 + (i >> 9)) & 0xff);
      const replies: Uint8Array[] = [];
      t.icmpA.onEchoReply(0x66, (_from, _id, seq, d) => {
        expect(seq).toBe(4);
        replies.push(d.slice());
      });
      expect(t.icmpA.sendEchoRequest(parseIpv6('2001:db8::2')!, 0x66, 4, data, t.clock.now)).toBeUndefined();
      settle(t.clock, t.stacks);
      expect(replies.length).toBe(1);
      expect(replies[0]).toEqual(data);
      const frags = decode6(t.tapA.sent).filter((d) => d.fragment !== null).length;
      expect(frags).toBe(Math.ceil((size + 8) / 1448));
      for (const s of [t.a.stack, t.b.stack]) {
        expect(s.stats.get(IPV6_REASSEMBLY_LAYER, 'fragments')).toBe(frags);
        expect(s.stats.get(IPV6_REASSEMBLY_LAYER, 'reassembled')).toBe(1);
        expect(s.stats.snapshot()[IPV6_REASSEMBLY_LAYER]?.drops ?? {}).toEqual({});
        expect(s.module<Ipv6ReassemblyModule>('ipv6-reassembly')!.engine.bytesInUse).toBe(0);
      }
      closeAndCheckLeaks(t.a, t.b);
    });
  }

  it('a request missing its last fragment: B sends ICMPv6 Time Exceeded code 1 after 60 s, and nothing before', () => {
    const t = twoHosts();
    // A's cable end loses the last fragment of the request.
    t.tapA.drop = (f) => decode6([f]).some((d) => d.fragment !== null && d.fragment.fragOffset > 0 && !d.fragment.moreFrags);
    t.icmpA.sendEchoRequest(parseIpv6('2001:db8::2')!, 0x67, 1, new Uint8Array(4000), t.clock.now);
    settle(t.clock, t.stacks);
    const sentBefore = t.tapB.sent.length;
    runFor(t.clock, t.stacks, 59_000);
    expect(decode6(t.tapB.sent.slice(sentBefore)).filter((d) => d.proto === 58 && d.first === 3)).toEqual([]);
    runFor(t.clock, t.stacks, 1_500);
    const te = decode6(t.tapB.sent.slice(sentBefore)).filter((d) => d.proto === 58 && d.first === 3);
    expect(te.map((d) => d.code)).toEqual([1]);
    expect(t.b.stack.stats.get(IPV6_REASSEMBLY_LAYER, 'time_exceeded')).toBe(1);
    expect(t.a.stack.stats.get('icmpv6', 'errors_received')).toBe(1);
    closeAndCheckLeaks(t.a, t.b);
  });
});
