import type { Outcome } from './types';

export type Bucket = { startMs: number } & Record<Outcome, number>;

const OUTCOMES: Outcome[] = ['allow', 'step_up', 'deny'];
const WIDTH = 720;
const HEIGHT = 180;
const PAD = { left: 36, right: 8, top: 8, bottom: 22 };

/** Decisions per interval, stacked by outcome: inline SVG, colours from the stylesheet (the CSP admits no inline style). */
export function DecisionsChart({ series }: { series: Bucket[] }) {
  const max = Math.max(1, ...series.map((b) => b.allow + b.deny + b.step_up));
  const innerW = WIDTH - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const slot = series.length ? innerW / series.length : innerW;
  const barW = Math.max(1, slot * 0.8);
  const y = (v: number) => (v / max) * innerH;
  const totals = OUTCOMES.map((o) => `${series.reduce((n, b) => n + b[o], 0)} ${o === 'step_up' ? 'step-up' : o}`).join(', ');
  const label = series.length ? `Decisions over time by outcome: ${totals}, ${series.length} intervals from ${new Date(series[0]!.startMs).toLocaleTimeString()}` : 'No decisions in this period';
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={label} data-role="decisions-chart">
        <line className="axis" x1={PAD.left} y1={PAD.top + innerH} x2={WIDTH - PAD.right} y2={PAD.top + innerH} />
        <text className="tick" x={PAD.left - 4} y={PAD.top + 10} textAnchor="end">{max}</text>
        <text className="tick" x={PAD.left - 4} y={PAD.top + innerH} textAnchor="end">0</text>
        {series.map((b, i) => {
          let base = PAD.top + innerH;
          return (
            <g key={b.startMs}>
              {OUTCOMES.map((o) => {
                const h = y(b[o]);
                base -= h;
                return h > 0 ? <rect key={o} className={`bar-${o}`} x={PAD.left + i * slot + (slot - barW) / 2} y={base} width={barW} height={h} /> : null;
              })}
            </g>
          );
        })}
        {series.length ? (
          <>
            <text className="tick" x={PAD.left} y={HEIGHT - 6}>{new Date(series[0]!.startMs).toLocaleTimeString()}</text>
            <text className="tick" x={WIDTH - PAD.right} y={HEIGHT - 6} textAnchor="end">{new Date(series[series.length - 1]!.startMs).toLocaleTimeString()}</text>
          </>
        ) : null}
      </svg>
      <figcaption className="legend">
        {OUTCOMES.map((o) => (
          <span key={o}>
            <svg width="10" height="10" aria-hidden="true"><rect className={`bar-${o}`} width="10" height="10" /></svg> {o === 'step_up' ? 'step-up' : o}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
