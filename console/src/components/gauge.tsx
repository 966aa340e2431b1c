import { level, percent } from '../format.js';

/**
 * Seats in use of capacity (or units used of a quota: `what`) as a half-circle gauge. It is a `meter` for assistive technology
 * (and for the end-to-end tests, which read aria-valuenow/valuemax).
 */
export function Gauge({ label, inUse, capacity, what = 'seats in use' }: { label: string; inUse: number; capacity: number; what?: string }) {
  const pct = percent(inUse, capacity);
  const lvl = level(inUse, capacity);
  const shown = Math.min(pct, 100) / 100;
  // Arc from 180° to 0° on a circle of radius 40 around (50, 50).
  const r = 40;
  const angle = Math.PI * (1 - shown);
  const x = 50 + r * Math.cos(angle);
  const y = 50 - r * Math.sin(angle);
  const track = `M 10 50 A ${r} ${r} 0 0 1 90 50`;
  const arc = shown <= 0 ? '' : `M 10 50 A ${r} ${r} 0 0 1 ${x.toFixed(2)} ${y.toFixed(2)}`;
  return (
    <div
      class={`gauge lvl-${lvl}`}
      role="meter"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={capacity}
      aria-valuenow={inUse}
      aria-valuetext={`${inUse} of ${capacity} ${what} (${pct} %)`}
    >
      <svg viewBox="0 0 100 58" aria-hidden="true" focusable="false">
        <path d={track} class="gauge-track" />
        {arc && <path d={arc} class="gauge-arc" />}
      </svg>
      <div class="gauge-text" aria-hidden="true">
        <span class="gauge-value">
          {inUse}
          <span class="gauge-max"> / {capacity}</span>
        </span>
        <span class="gauge-pct">{pct} %</span>
      </div>
    </div>
  );
}

/** A thin horizontal meter for one license (or a product's quota). */
export function Bar({ label, inUse, seats, what = 'seats in use' }: { label: string; inUse: number; seats: number; what?: string }) {
  const pct = percent(inUse, seats);
  return (
    <div
      class={`bar lvl-${level(inUse, seats)}`}
      role="meter"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={seats}
      aria-valuenow={inUse}
      aria-valuetext={`${inUse} of ${seats} ${what}`}
    >
      <div class="bar-fill" style={{ width: `${Math.min(pct, 100)}%` }} />
    </div>
  );
}
