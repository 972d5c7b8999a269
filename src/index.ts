// picotcp-ts: the Node-facing entry point. Protocol cores, wire codecs and links are also available
// through their own subpaths ('picotcp-ts/core', 'picotcp-ts/wire', 'picotcp-ts/phy', ...).
export * from './api/index.js';
export { createMemoryPair, MemorySwitch, LoopbackDevice, PcapWriterDevice, TracerDevice, FaultInjectorDevice } from './phy/index.js';
export { seededRandom, cryptoRandom } from './random/index.js';
