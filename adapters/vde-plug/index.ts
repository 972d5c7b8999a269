// A LinkDevice over a spawned `vde_plug` process: TAP devices, VDE switches and the other vdeplug4
// transports with no native addon.
export { tapNameOf, VdePlugDevice } from './device.js';
export type { VdePlugCounters, VdePlugExit, VdePlugOptions } from './device.js';
export { encodeVdeFrame, VDE_STREAM_MAX_LEN, VDE_STREAM_PREFIX_LEN, VdeStreamDecoder, VdeStreamError } from './framing.js';
