/**
 * The alert notification's words: one message listing every condition met at a check, the
 * newly crossed thresholds first (seed 004: "if multiple conditions are met, the email will
 * contain all the information"). Pure.
 */
import type { AlertCondition as Condition } from '../../store/types.js';
import type { Mail } from './mailer.js';

const WHAT: Record<string, string> = {
  devices: 'active devices',
  usage: 'units used of the quota',
  'soft-exceptions': 'concurrency exceptions of the exception quota',
  seats: 'seats in use',
};

const ADVICE: Record<string, (c: Condition) => string | null> = {
  devices: (c) => (c.value >= 110 ? 'New devices are now refused; activated devices keep working.' : c.value >= 100 ? 'The license is exhausted; up to 10 % more new devices are still authorised.' : null),
  usage: (c) => (c.value >= 105 ? 'Reports and new sessions are now refused.' : c.value >= 100 ? 'The quota is used up; up to 5 % more is still allowed.' : null),
  'soft-exceptions': (c) => (c.value >= 100 ? 'The license has stopped working for everyone until the quota is raised or reset.' : 'The concurrency limit is exceeded often; consider more seats.'),
  seats: () => null,
};

function pct(v: number): string {
  return `${Math.round(v * 10) / 10} %`;
}

export function describeCondition(c: Condition): string {
  const where = c.license === null ? `product ${c.product}` : `license ${c.licenseName ?? c.license} of ${c.product}`;
  const thresholds = c.met.map((t) => (c.fired.includes(t) ? `${t} % (new)` : `${t} %`)).join(', ');
  const advice = ADVICE[c.kind]?.(c);
  return `- ${where}: ${WHAT[c.kind] ?? c.kind} at ${pct(c.value)}; thresholds met: ${thresholds}.${advice ? ` ${advice}` : ''}`;
}

export function alertMail(account: string, to: string[], conditions: readonly Condition[]): Mail {
  const sorted = [...conditions].sort((a, b) => Number(b.fired.length > 0) - Number(a.fired.length > 0));
  const fresh = conditions.filter((c) => c.fired.length > 0).length;
  return {
    to,
    subject: `Seatkeeper (${account}): ${fresh} license alert${fresh === 1 ? '' : 's'}`,
    text: [
      `Seatkeeper checked the licenses of account "${account}" and these conditions are met:`,
      '',
      ...sorted.map(describeCondition),
      '',
      'Each threshold is reported once when it is crossed, and again only after usage has fallen below it.',
      'Thresholds and the check interval can be changed in the console (Alerts) or with PATCH /v1/alert-rules/{id}.',
    ].join('\n'),
  };
}
