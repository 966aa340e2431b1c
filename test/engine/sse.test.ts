import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { frameSse, frameSseComment } from '../../src/engine/sse.js';

interface Parsed {
  events: { type: string; data: string; id: string }[];
  comments: string[];
  retry: number | null;
}

/**
 * A minimal event-stream parser after WHATWG HTML §9.2.6, written independently of the
 * framing code, to check that what we frame is read back as what we meant.
 */
function parseStream(stream: string): Parsed {
  const out: Parsed = { events: [], comments: [], retry: null };
  let data = '';
  let type = '';
  let lastId = '';
  const lines = stream.split(/\r\n|\r|\n/);
  lines.pop(); // text after the final line break is an incomplete line
  for (const line of lines) {
    if (line === '') {
      if (data !== '') out.events.push({ type: type === '' ? 'message' : type, data: data.slice(0, -1), id: lastId });
      data = '';
      type = '';
      continue;
    }
    if (line.startsWith(':')) {
      out.comments.push(line.slice(1));
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data += `${value}\n`;
    else if (field === 'event') type = value;
    else if (field === 'id' && !value.includes('\0')) lastId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) out.retry = Number(value);
  }
  return out;
}

describe('frameSse — fields', () => {
  it('frames event, id and data, in that order, ending with a blank line', () => {
    expect(frameSse({ event: 'grant', id: 'evt_1', data: '{"lease":"l_1"}' })).toBe(
      'event: grant\nid: evt_1\ndata: {"lease":"l_1"}\n\n',
    );
  });

  it('a numeric id is written in decimal', () => {
    expect(frameSse({ id: 42, data: 'x' })).toBe('id: 42\ndata: x\n\n');
    expect(frameSse({ id: 0, data: 'x' })).toBe('id: 0\ndata: x\n\n');
  });

  it('omitted fields are not written at all', () => {
    expect(frameSse({ data: 'x' })).toBe('data: x\n\n');
    expect(frameSse({ event: 'ping' })).toBe('event: ping\n\n');
    expect(frameSse({ id: 'a' })).toBe('id: a\n\n');
    expect(frameSse({})).toBe('\n');
  });

  it('retry is written before data', () => {
    expect(frameSse({ event: 'e', id: 1, retry: 3000, data: 'x' })).toBe('event: e\nid: 1\nretry: 3000\ndata: x\n\n');
    expect(frameSse({ retry: 0 })).toBe('retry: 0\n\n');
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, -0.5])('retry %d is rejected with RangeError', (retry) => {
    expect(() => frameSse({ retry, data: 'x' })).toThrow(RangeError);
  });
});

describe('frameSse — data', () => {
  it('empty data is one empty data line (a dispatchable empty message)', () => {
    expect(frameSse({ data: '' })).toBe('data: \n\n');
  });

  it.each([
    ['LF', 'a\nb', 'data: a\ndata: b\n\n'],
    ['CRLF', 'a\r\nb', 'data: a\ndata: b\n\n'],
    ['CR', 'a\rb', 'data: a\ndata: b\n\n'],
    ['mixed', 'a\nb\r\nc\rd', 'data: a\ndata: b\ndata: c\ndata: d\n\n'],
    ['empty lines', 'a\n\nb', 'data: a\ndata: \ndata: b\n\n'],
    ['trailing LF', 'a\n', 'data: a\ndata: \n\n'],
    ['leading LF', '\na', 'data: \ndata: a\n\n'],
    ['LF then CR are two breaks', '\n\r', 'data: \ndata: \ndata: \n\n'],
    ['CRLF is one break', '\r\n', 'data: \ndata: \n\n'],
  ])('multi-line data (%s) becomes several data: lines', (_name, data, expected) => {
    expect(frameSse({ data })).toBe(expected);
  });

  it('a data line that looks like a field stays data', () => {
    const framed = frameSse({ data: 'event: evil\nid: 666\n\nretry: 1' });
    expect(framed).toBe('data: event: evil\ndata: id: 666\ndata: \ndata: retry: 1\n\n');
    const parsed = parseStream(framed);
    expect(parsed.events).toEqual([{ type: 'message', data: 'event: evil\nid: 666\n\nretry: 1', id: '' }]);
    expect(parsed.retry).toBeNull();
  });

  it('leading spaces in data survive (only the one separator space is stripped by readers)', () => {
    expect(frameSse({ data: '  x' })).toBe('data:   x\n\n');
    expect(parseStream(frameSse({ data: '  x' })).events[0]?.data).toBe('  x');
  });
});

describe('frameSse — event and id must be single-line', () => {
  it.each(['a\nb', 'a\rb', 'a\r\nb', '\n', 'x\r'])('event %j throws RangeError', (event) => {
    expect(() => frameSse({ event, data: 'x' })).toThrow(RangeError);
  });

  it.each(['a\nb', 'a\rb', 'a\r\nb', '\n', 'x\r'])('id %j throws RangeError', (id) => {
    expect(() => frameSse({ id, data: 'x' })).toThrow(RangeError);
  });

  it('an id with NUL throws (readers would ignore it)', () => {
    expect(() => frameSse({ id: 'a\0b', data: 'x' })).toThrow(RangeError);
  });

  it('an event name with an injected field would have split the message; rejected instead', () => {
    expect(() => frameSse({ event: 'grant\ndata: forged\n\nevent: x', data: 'real' })).toThrow(RangeError);
  });
});

describe('frameSseComment', () => {
  it('frames a comment line followed by a blank line', () => {
    expect(frameSseComment('keep-alive')).toBe(': keep-alive\n\n');
    expect(frameSseComment('')).toBe(': \n\n');
  });

  it('line breaks inside the text are flattened to single spaces', () => {
    expect(frameSseComment('a\nb')).toBe(': a b\n\n');
    expect(frameSseComment('a\r\nb')).toBe(': a b\n\n');
    expect(frameSseComment('a\rb')).toBe(': a b\n\n');
    expect(frameSseComment('a\n\n\r\nb')).toBe(': a b\n\n');
    expect(frameSseComment('data: x\n\nevent: y')).toBe(': data: x event: y\n\n');
  });

  it('a comment never dispatches an event', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', ' ', ':', '\n', '\r', 'd', 't', '\u00e9') }), (text) => {
        const framed = frameSseComment(text);
        expect(framed.endsWith('\n\n')).toBe(true);
        expect(framed.slice(0, -2)).not.toMatch(/[\r\n]/);
        const parsed = parseStream(framed);
        expect(parsed.events).toEqual([]);
        expect(parsed.comments).toHaveLength(1);
      }),
      { numRuns: 300 },
    );
  });
});

describe('frameSse — round trip through a WHATWG-style parser', () => {
  const lineChars = fc.constantFrom('a', 'b', ' ', ':', '\0', '\u00e9', '\u{1F600}', 'x');
  const anyChars = fc.constantFrom('a', ' ', ':', '\n', '\r', '\0', 'x', '\u00e9');

  it('one message in, exactly one event out with the same data, type and id', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: anyChars, maxLength: 40 }),
        fc.option(fc.string({ unit: lineChars, maxLength: 10 }), { nil: undefined }),
        fc.option(fc.string({ unit: fc.constantFrom('a', '1', ' ', ':'), maxLength: 10 }), { nil: undefined }),
        fc.option(fc.nat({ max: 100_000 }), { nil: undefined }),
        (data, event, id, retry) => {
          const framed = frameSse({ data, ...(event === undefined ? {} : { event }), ...(id === undefined ? {} : { id }), ...(retry === undefined ? {} : { retry }) });
          expect(framed.endsWith('\n\n')).toBe(true);
          // Exactly one blank line: the terminator.
          expect(framed.slice(0, -1).split(/\r\n|\r|\n/).filter((l) => l === '')).toHaveLength(1);
          const parsed = parseStream(framed);
          expect(parsed.events).toEqual([
            {
              type: event === undefined || event === '' ? 'message' : event,
              data: data.replace(/\r\n|\r/g, '\n'),
              id: id ?? '',
            },
          ]);
          expect(parsed.retry).toBe(retry ?? null);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('concatenated messages parse as separate events in order', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: anyChars, maxLength: 12 }), { minLength: 1, maxLength: 6 }), (datas) => {
        const stream = datas.map((data, i) => frameSse({ id: i, event: 'e', data })).join('') + frameSseComment('ping');
        const parsed = parseStream(stream);
        expect(parsed.events.map((e) => e.data)).toEqual(datas.map((d) => d.replace(/\r\n|\r/g, '\n')));
        expect(parsed.events.map((e) => e.id)).toEqual(datas.map((_, i) => String(i)));
      }),
      { numRuns: 200 },
    );
  });
});
