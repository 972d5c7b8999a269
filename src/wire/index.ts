// Wire formats: checked zero-copy views and Repr parse/emit for each protocol, capture file formats,
// and the frame decoder/pretty printer. Import a single protocol through its subpath
// (e.g. 'picotcp-ts/wire/tcp') to bundle only that one.
export * from './error.js';
export * from './bytes.js';
export * from './address.js';
export * from './ethertype.js';
export * from './ip-protocol.js';
export * from './link-type.js';
export * from './ethernet.js';
export * from './linux-sll.js';
export * from './arp.js';
export * from './ipv4.js';
export * from './ipv6.js';
export * from './ipv6-ext.js';
export * from './icmpv4.js';
export * from './icmpv6.js';
export * from './ndp.js';
export * from './mld.js';
export * from './igmp.js';
export * from './udp.js';
export * from './tcp.js';
export * from './tcp-options.js';
export * from './capture.js';
export * from './pcap.js';
export * from './pcapng.js';
export * from './decode.js';
export * from './pretty.js';
