import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SseParser, type SseEvent } from '../src/sse.js';

function parse(chunks: string[], lastEventId: string | null = null) {
  const events: SseEvent[] = [];
  const retries: number[] = [];
  const p = new SseParser((e) => events.push(e), (ms) => retries.push(ms), lastEventId);
  for (const c of chunks) p.push(c);
  return { events, retries, lastEventId: p.lastEventId };
}

describe('SSE parser', () => {
  it('reads the server framing: event, id, multi-line data, retry, comments', () => {
    const text = 'retry: 3000\n\n: keep-alive\n\nevent: lease.ended\nid: 7\ndata: {"reason":\ndata: "expired"}\n\n';
    const { events, retries, lastEventId } = parse([text]);
    expect(retries).toEqual([3000]);
    expect(events).toEqual([{ event: 'lease.ended', id: '7', data: '{"reason":\n"expired"}' }]);
    expect(lastEventId).toBe('7');
  });

  it('defaults the type to message, keeps the last id across events, and skips events without data', () => {
    const { events } = parse(['id: 3\nevent: x\n\ndata: a\n\nid: 4\ndata:b\n\n'], '1');
    expect(events).toEqual([
      { event: 'message', id: '3', data: 'a' },
      { event: 'message', id: '4', data: 'b' },
    ]);
  });

  it('accepts CR, LF and CRLF line ends, also split across chunks', () => {
    const { events } = parse(['event: a\r', '\ndata: 1\r', '\r', 'event: b\rdata: 2\r\rdata: 3\n', '\n']);
    expect(events.map((e) => [e.event, e.data])).toEqual([['a', '1'], ['b', '2'], ['message', '3']]);
  });

  it('ignores an id containing NUL, unknown fields and a non-numeric retry', () => {
    const { events, retries } = parse(['id: 5\n\nid: 6\0x\nfoo: bar\nretry: soon\ndata: z\n\n']);
    expect(retries).toEqual([]);
    expect(events).toEqual([{ event: 'message', id: '5', data: 'z' }]);
  });

  it('gives the same events however the text is split into chunks', () => {
    const text = 'retry: 10\n\nevent: lease.terminating\nid: 1\ndata: {"at":"x"}\r\n\r\n: c\n\nevent: lease.ended\r\nid: 2\rdata: {}\r\r';
    const whole = parse([text]).events;
    expect(whole).toHaveLength(2);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: text.length }), { maxLength: 12 }), (cuts) => {
        const at = [...new Set(cuts)].sort((a, b) => a - b);
        const chunks: string[] = [];
        let prev = 0;
        for (const c of at) {
          chunks.push(text.slice(prev, c));
          prev = c;
        }
        chunks.push(text.slice(prev));
        expect(parse(chunks).events).toEqual(whole);
      }),
    );
  });
});
