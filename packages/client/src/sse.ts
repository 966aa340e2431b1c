/**
 * A server-sent events reader over fetch (WHATWG HTML §9.2 "event stream interpretation").
 * Browsers' EventSource cannot send an Authorization header, and session tokens must not go
 * in URLs, so the SDK reads the stream itself.
 */

export interface SseEvent {
  /** The `event:` field; `message` when absent. */
  event: string;
  data: string;
  /** The last event id seen on this stream so far (`Last-Event-ID` to resume from). */
  id: string | null;
}

/**
 * Incremental parser: feed it text chunks in order; it calls `onEvent` per dispatched event
 * and `onRetry` for a `retry:` field. Lines end with CRLF, LF or CR, and a chunk may end
 * anywhere, even between CR and LF.
 */
export class SseParser {
  private buffer = '';
  private pendingCr = false;
  private data: string[] = [];
  private eventType = '';
  private hasData = false;
  lastEventId: string | null;

  constructor(
    private readonly onEvent: (e: SseEvent) => void,
    private readonly onRetry: (ms: number) => void = () => undefined,
    lastEventId: string | null = null,
  ) {
    this.lastEventId = lastEventId;
  }

  push(chunk: string): void {
    let text = chunk;
    // A CR that ended the previous chunk already ended its line; a LF right after it is
    // part of that CRLF, not an empty line.
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i];
      if (c !== '\n' && c !== '\r') continue;
      this.line(this.buffer.slice(start, i));
      if (c === '\r') {
        if (i + 1 < this.buffer.length) {
          if (this.buffer[i + 1] === '\n') i++;
        } else {
          this.pendingCr = true;
        }
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
  }

  private line(line: string): void {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.data.push(value);
        this.hasData = true;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.onRetry(Number(value));
        break;
    }
  }

  private dispatch(): void {
    const hasData = this.hasData;
    const event = this.eventType || 'message';
    const data = this.data.join('\n');
    this.data = [];
    this.eventType = '';
    this.hasData = false;
    if (!hasData) return;
    this.onEvent({ event, data, id: this.lastEventId });
  }
}

/** Reads a fetch Response body as an event stream until it ends or `signal` aborts. */
export async function readEventStream(res: Response, parser: SseParser, signal?: AbortSignal): Promise<void> {
  if (!res.body) return;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const stop = () => void reader.cancel().catch(() => undefined);
  signal?.addEventListener('abort', stop, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.push(decoder.decode(value, { stream: true }));
    }
    parser.push(decoder.decode());
  } finally {
    signal?.removeEventListener('abort', stop);
    try {
      reader.releaseLock();
    } catch {
      /* a read was still pending after cancel: the stream is done with either way */
    }
  }
}
