// Counters per layer and per drop reason. "Why was my packet ignored?" must always have an answer:
// every drop in the stack calls drop(layer, reason). Counters are plain numbers in nested records so
// reading them at run time (stack.stats()) costs nothing and they serialise straight to JSON.

export type CounterMap = Record<string, number>;

export interface LayerCounters {
  /** Free-form counters: rx, tx, forwarded, reassembled... */
  readonly counters: CounterMap;
  /** Drops by reason, e.g. 'bad_checksum', 'ttl_exceeded', 'no_route'. */
  readonly drops: CounterMap;
}

export class Stats {
  private readonly layers = new Map<string, LayerCounters>();

  layer(name: string): LayerCounters {
    let l = this.layers.get(name);
    if (!l) {
      l = { counters: Object.create(null) as CounterMap, drops: Object.create(null) as CounterMap };
      this.layers.set(name, l);
    }
    return l;
  }

  count(layer: string, counter: string, n = 1): void {
    const c = this.layer(layer).counters;
    c[counter] = (c[counter] ?? 0) + n;
  }

  drop(layer: string, reason: string, n = 1): void {
    const d = this.layer(layer).drops;
    d[reason] = (d[reason] ?? 0) + n;
  }

  get(layer: string, counter: string): number {
    return this.layers.get(layer)?.counters[counter] ?? 0;
  }

  drops(layer: string, reason: string): number {
    return this.layers.get(layer)?.drops[reason] ?? 0;
  }

  totalDrops(): number {
    let n = 0;
    for (const l of this.layers.values()) for (const v of Object.values(l.drops)) n += v;
    return n;
  }

  /** A JSON-ready copy: { layer: { counters: {...}, drops: {...} } }, layers sorted by name. */
  snapshot(): Record<string, { counters: CounterMap; drops: CounterMap }> {
    const out: Record<string, { counters: CounterMap; drops: CounterMap }> = {};
    for (const name of [...this.layers.keys()].sort()) {
      const l = this.layers.get(name)!;
      out[name] = { counters: { ...l.counters }, drops: { ...l.drops } };
    }
    return out;
  }

  reset(): void {
    this.layers.clear();
  }
}
