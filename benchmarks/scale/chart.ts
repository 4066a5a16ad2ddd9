import type { SizePoint } from './sweep.js';

/*
 * The scale chart: /read p99 against live sessions, one line per contender, both axes logarithmic.
 * Written by hand: one chart of lines and ticks does not justify a plotting dependency (and
 * benchmarks/ must not add any), and plain SVG renders on GitHub and in the docs as it is.
 */

const WIDTH = 720;
const HEIGHT = 420;
const M = { left: 64, right: 200, top: 36, bottom: 52 };
const COLOURS = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02', '#a6761d'];

/** The SVG document for the sweep's /read points. */
export function renderChart(points: readonly SizePoint[]): string {
  const read = points.filter((p) => p.route === 'read' && p.p99Ms > 0);
  const contenders = [...new Set(read.map((p) => p.contender))];
  const xs = read.map((p) => p.sessions);
  const ys = read.map((p) => p.p99Ms);
  const x = logScale(
    decadeBelow(Math.min(...xs, 10_000)),
    decadeAbove(Math.max(...xs, 1_000_000)),
    M.left,
    WIDTH - M.right,
  );
  const y = logScale(
    decadeBelow(Math.min(...ys, 1)),
    decadeAbove(Math.max(...ys, 10)),
    HEIGHT - M.bottom,
    M.top,
  );
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${M.left}" y="20" font-size="14" font-weight="bold">/read p99 latency (ms) against live sessions</text>`,
    ...axis(x, y),
  ];
  contenders.forEach((id, index) => {
    const line = read
      .filter((p) => p.contender === id)
      .sort((a, b) => a.sessions - b.sessions)
      .map((p) => [x.at(p.sessions), y.at(p.p99Ms)] as const);
    const colour = COLOURS[index % COLOURS.length] as string;
    const dash = id.startsWith('express-session') ? ' stroke-dasharray="6 4"' : '';
    parts.push(
      `<polyline fill="none" stroke="${colour}" stroke-width="2"${dash} points="${line.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ')}"/>`,
      ...line.map(
        ([a, b]) => `<circle cx="${a.toFixed(1)}" cy="${b.toFixed(1)}" r="3" fill="${colour}"/>`,
      ),
      `<line x1="${WIDTH - M.right + 16}" x2="${WIDTH - M.right + 40}" y1="${M.top + 8 + index * 20}" y2="${M.top + 8 + index * 20}" stroke="${colour}" stroke-width="2"${dash}/>`,
      `<text x="${WIDTH - M.right + 46}" y="${M.top + 12 + index * 20}">${escape(id)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

interface Scale {
  readonly lo: number;
  readonly hi: number;
  at(value: number): number;
}

function logScale(lo: number, hi: number, from: number, to: number): Scale {
  const span = Math.log10(hi) - Math.log10(lo);
  return { lo, hi, at: (v) => from + ((Math.log10(v) - Math.log10(lo)) / span) * (to - from) };
}

function axis(x: Scale, y: Scale): string[] {
  const out = [
    `<line x1="${M.left}" x2="${WIDTH - M.right}" y1="${HEIGHT - M.bottom}" y2="${HEIGHT - M.bottom}" stroke="#333"/>`,
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${HEIGHT - M.bottom}" stroke="#333"/>`,
    `<text x="${(M.left + WIDTH - M.right) / 2}" y="${HEIGHT - 12}" text-anchor="middle">live sessions (log scale)</text>`,
  ];
  for (let v = x.lo; v <= x.hi * 1.001; v *= 10) {
    const at = x.at(v).toFixed(1);
    out.push(
      `<line x1="${at}" x2="${at}" y1="${M.top}" y2="${HEIGHT - M.bottom}" stroke="#ddd"/>`,
      `<text x="${at}" y="${HEIGHT - M.bottom + 18}" text-anchor="middle">${count(v)}</text>`,
    );
  }
  for (let v = y.lo; v <= y.hi * 1.001; v *= 10) {
    const at = y.at(v).toFixed(1);
    out.push(
      `<line x1="${M.left}" x2="${WIDTH - M.right}" y1="${at}" y2="${at}" stroke="#ddd"/>`,
      `<text x="${M.left - 8}" y="${at}" text-anchor="end" dominant-baseline="middle">${v >= 1 ? v : v.toFixed(1)}</text>`,
    );
  }
  return out;
}

function count(v: number): string {
  return v >= 1e6 ? `${v / 1e6}M` : v >= 1e3 ? `${v / 1e3}k` : String(v);
}

function decadeBelow(v: number): number {
  return 10 ** Math.floor(Math.log10(v));
}

function decadeAbove(v: number): number {
  return 10 ** Math.ceil(Math.log10(v));
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}
