// Internet checksum: the pure-TS provider, RFC 1071/1624 helpers and provider combinators. The
// native provider lives in src/api/native.ts (the only place allowed to load a .node file).
export { fold16, tsChecksum, tsSum } from './ts-checksum.js';
export {
  continueSum,
  finishChecksum,
  internetChecksum,
  pseudoHeaderSumV4,
  pseudoHeaderSumV6,
  updateChecksum16,
  updateChecksum32,
} from './internet.js';
export { sizeRoutedChecksum } from './routed.js';
export type { SizeRoutedChecksum } from './routed.js';
