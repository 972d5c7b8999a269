import { describe, expect, it } from 'vitest';
import { Stats } from '../../src/core/stats.js';

describe('Stats', () => {
  it('counts per layer and per drop reason and snapshots as plain JSON', () => {
    const s = new Stats();
    s.count('ipv4', 'rx');
    s.count('ipv4', 'rx', 2);
    s.drop('ipv4', 'bad_checksum');
    s.drop('tcp', 'no_socket', 4);
    expect(s.get('ipv4', 'rx')).toBe(3);
    expect(s.drops('ipv4', 'bad_checksum')).toBe(1);
    expect(s.drops('udp', 'anything')).toBe(0);
    expect(s.totalDrops()).toBe(5);
    const snap = s.snapshot();
    expect(JSON.parse(JSON.stringify(snap))).toEqual({
      ipv4: { counters: { rx: 3 }, drops: { bad_checksum: 1 } },
      tcp: { counters: {}, drops: { no_socket: 4 } },
    });
    snap.ipv4!.counters.rx = 99;
    expect(s.get('ipv4', 'rx')).toBe(3);
    s.reset();
    expect(s.totalDrops()).toBe(0);
  });

  it('is not confused by reason names that collide with Object.prototype', () => {
    const s = new Stats();
    s.drop('ipv4', 'constructor');
    s.drop('ipv4', 'toString');
    expect(s.drops('ipv4', 'constructor')).toBe(1);
    expect(s.drops('ipv4', 'toString')).toBe(1);
  });
});
