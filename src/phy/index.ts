// Devices that need no OS: memory pair, loopback, switch/hub, and the decorators (pcap writer,
// tracer, fault injector) that wrap any LinkDevice and are themselves one.
export { createMemoryPair, MemoryLink } from './memory-pair.js';
export type { MemoryPair, MemoryPairOptions } from './memory-pair.js';
export { LoopbackDevice } from './loopback.js';
export type { LoopbackOptions } from './loopback.js';
export { MemorySwitch, SwitchPort } from './switch.js';
export type { MacEntry, MemorySwitchOptions, SwitchCounters } from './switch.js';
export { LinkDecorator } from './decorator.js';
export { LINKTYPE_ETHERNET, LINKTYPE_RAW, PcapWriterDevice } from './pcap-writer.js';
export type { PcapWriterDeviceOptions } from './pcap-writer.js';
export { defaultFrameFormat, formatInstant, TracerDevice } from './tracer.js';
export type { TracerDeviceOptions } from './tracer.js';
export { FaultInjectorDevice } from './fault-injector.js';
export type { FaultCounters, FaultInjectorOptions, FaultSpec } from './fault-injector.js';
export { FrameQueue, ListenerSlot, makeCapabilities, maxFrameLen, NO_OFFLOAD } from './support.js';
export type { CapabilitiesInit, LinkCounters, NotifyMode } from './support.js';
