import { useEffect, useRef, type ReactNode } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

/** One line of a {@link Chart}. */
export interface ChartSeries {
  label: string;
  color: string;
  values: (number | null)[];
}

/**
 * A time-series line chart (uPlot): `times` in ms since the epoch, one line per series, sized to
 * its container. `title` names it for screen readers, and `summary` (a sentence of its figures)
 * is read instead of the canvas.
 */
export function Chart(props: { title: string; summary: string; times: number[]; series: ChartSeries[]; unit?: string; height?: number }): ReactNode {
  const { title, summary, times, series, unit = "", height = 220 } = props;
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const plot = new uPlot(
      {
        width: el.clientWidth,
        height,
        legend: { show: true },
        scales: { x: { time: true } },
        axes: [{}, { values: (_u, ticks) => ticks.map((t) => `${t}${unit}`), size: 60 }],
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, points: { show: times.length < 40 } }))],
      },
      [times.map((t) => t / 1_000), ...series.map((s) => s.values)],
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [times, series, unit, height]);
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}: ${summary}`} />
    </figure>
  );
}
