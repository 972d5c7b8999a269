// The sans-I/O stack core: build a Stack from the protocol modules you need.
export { Stack, DEFAULT_STACK_LIMITS, ETHERNET_HEADROOM } from './stack.js';
export type { StackContext, StackLimits, StackOptions, TxBuffer } from './stack.js';
export type { StackModule, EthertypeHandler, LinkRxInfo } from './module.js';
export { NetInterface } from './interface.js';
export type { InterfaceConfig } from './interface.js';
export { Stats } from './stats.js';
export type { CounterMap, LayerCounters } from './stats.js';
export { Ipv4RoutingTable, Ipv6RoutingTable } from './route.js';
export type { Ipv4Route, Ipv6Route } from './route.js';
export * from './cidr.js';
export { TokenBucket } from './rate-limit.js';
export { ArpModule, DEFAULT_ARP_OPTIONS } from './arp.js';
export type { ArpOptions } from './arp.js';
export { Ipv4Module, DEFAULT_IPV4_OPTIONS } from './ipv4.js';
export type { Ipv4FragmentHook, Ipv4Options, Ipv4ProtocolHandler, Ipv4RxInfo, Ipv4SendError, Ipv4SendParams } from './ipv4.js';
export { Icmpv4Module, DEFAULT_ICMPV4_OPTIONS } from './icmpv4.js';
export type { EchoReplyListener, Icmpv4ErrorReport, Icmpv4Options } from './icmpv4.js';
