export { Instant, Duration } from './instant.js';
export type { Instant as InstantT, Duration as DurationT } from './instant.js';
