/**
 * @seatkeeper/client — hold a Seatkeeper seat from a browser page or a Node program.
 *
 *   const seat = acquire({ url, token, product: 'cad', device: 'laptop-7' });
 *   seat.on('granted', ({ lease }) => …);
 *   seat.on('error', ({ error }) => show(error.code));
 *   await seat.release();
 */
export { acquire, SeatHandle } from './handle.js';
export { SeatkeeperApi, type ApiOptions, type Answer, type FetchLike, type RequestOptions } from './http.js';
export { SeatkeeperError, isSeatkeeperError, API_CODES, FATAL_CODES, type ApiCode, type ClientCode, type ErrorCode, type Problem } from './errors.js';
export { SseParser, readEventStream, type SseEvent } from './sse.js';
export { backoffDelay, systemTimers, type BackoffOptions, type Timers } from './timers.js';
export { Emitter } from './emitter.js';
export { reportUsage, type ReportOptions, type UsageAnswer, type UsageReport } from './usage.js';
export type { AcquireOptions, AcquireRequest, HandleState, Lease, SeatEvents, SessionInfo, Ticket } from './types.js';
