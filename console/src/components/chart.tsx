import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  values: number[];
  color: string;
}

/** A uPlot line chart that follows its container's width. `times` are epoch seconds. */
/** `range` is the window asked for (epoch seconds): the axis shows it even when few points fall in it. */
export function LineChart(props: { times: number[]; series: Series[]; range: [number, number]; label: string; timeZone?: string | undefined }) {
  const { times, series, range, label, timeZone } = props;
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = () => Math.max(280, el.clientWidth);
    const opts: uPlot.Options = {
      width: width(),
      height: 260,
      ...(timeZone ? { tzDate: (ts: number) => uPlot.tzDate(new Date(ts * 1000), timeZone) } : {}),
      scales: {
        x: { time: true, range: () => range },
        y: { range: (_u, _min, max) => [0, Math.max(1, Math.ceil(max * 1.1))] },
      },
      axes: [{}, { label: 'seats' }],
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, points: { show: times.length < 60 } }))],
    };
    const plot = new uPlot(opts, [times, ...series.map((s) => s.values)], el);
    const ro = new ResizeObserver(() => plot.setSize({ width: width(), height: 260 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [times, series, range[0], range[1], timeZone]);
  return <div class="chart" ref={box} role="img" aria-label={label} />;
}
