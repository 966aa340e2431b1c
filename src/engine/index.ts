export * from './types.js';
export * from './seat.js';
export * from './acquisition.js';
export * from './release.js';
export * from './daily-reset.js';
export * from './deadline-index.js';
export * from './permissions.js';
export * from './sse.js';
