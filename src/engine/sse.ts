/**
 * Server-sent events framing (WHATWG HTML §9.2). `data` is split on line breaks into
 * several `data:` lines; `event` and `id` must not contain CR or LF, which would let a
 * value inject fields of its own.
 */
export interface SseMessage {
  id?: string | number;
  event?: string;
  data?: string;
  retry?: number;
}

export function frameSse(m: SseMessage): string {
  let out = '';
  if (m.event !== undefined) out += `event: ${singleLine('event', m.event)}\n`;
  if (m.id !== undefined) out += `id: ${singleLine('id', String(m.id))}\n`;
  if (m.retry !== undefined) {
    if (!Number.isInteger(m.retry) || m.retry < 0) throw new RangeError('retry must be a non-negative integer');
    out += `retry: ${m.retry}\n`;
  }
  if (m.data !== undefined) {
    for (const line of m.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  }
  return `${out}\n`;
}

/** A comment line; keeps proxies from closing an idle stream. */
export function frameSseComment(text: string): string {
  return `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`;
}

function singleLine(field: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new RangeError(`SSE ${field} must not contain CR or LF`);
  if (field === 'id' && value.includes('\0')) throw new RangeError('SSE id must not contain NUL');
  return value;
}
