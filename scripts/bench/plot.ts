/** A line chart as a standalone SVG: latency (log scale) against offered rate. No dependencies. */
export interface Series {
  label: string;
  color: string;
  dashed?: boolean;
  points: { x: number; y: number }[];
}

export interface Guide {
  label: string;
  color: string;
  y: number;
}

export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  guides: Guide[];
}

const width = 760;
const height = 460;
const margin = { top: 48, right: 200, bottom: 56, left: 72 };

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let decade = 10 ** Math.floor(Math.log10(min)); decade <= max * 10; decade *= 10) {
    for (const m of [1, 2, 5]) {
      const tick = decade * m;
      if (tick >= min && tick <= max) ticks.push(tick);
    }
  }
  return ticks;
}

export function renderChart(chart: Chart): string {
  const points = chart.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y) && p.y > 0);
  const ys = [...points.map((p) => p.y), ...chart.guides.map((g) => g.y)].filter((y) => y > 0);
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...ys, 10)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...ys, 100)));
  const xMax = Math.max(...points.map((p) => p.x), 1) * 1.05;
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const sx = (x: number) => margin.left + (x / xMax) * plotW;
  const sy = (y: number) =>
    margin.top + plotH - ((Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * plotH;
  const f = (n: number) => n.toFixed(1);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(chart.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${margin.left}" y="24" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`,
  ];
  for (const tick of logTicks(yMin, yMax)) {
    out.push(
      `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${f(sy(tick))}" y2="${f(sy(tick))}" stroke="#e5e5e5"/>`,
      `<text x="${margin.left - 6}" y="${f(sy(tick) + 4)}" text-anchor="end">${tick >= 1000 ? `${tick / 1000} s` : `${tick} ms`}</text>`,
    );
  }
  const xStep = xMax > 200 ? 50 : xMax > 60 ? 25 : xMax > 20 ? 10 : 5;
  for (let x = 0; x <= xMax; x += xStep) {
    out.push(
      `<line x1="${f(sx(x))}" x2="${f(sx(x))}" y1="${margin.top + plotH}" y2="${margin.top + plotH + 4}" stroke="black"/>`,
      `<text x="${f(sx(x))}" y="${margin.top + plotH + 18}" text-anchor="middle">${x}</text>`,
    );
  }
  out.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="black"/>`,
    `<text x="${margin.left + plotW / 2}" y="${height - 14}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`,
    `<text transform="translate(18 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`,
  );
  let legendY = margin.top + 8;
  const legend = (label: string, color: string, dash: string) => {
    const x = margin.left + plotW + 16;
    out.push(
      `<line x1="${x}" x2="${x + 28}" y1="${legendY}" y2="${legendY}" stroke="${color}" stroke-width="2" ${dash}/>`,
      `<text x="${x + 34}" y="${legendY + 4}">${escapeXml(label)}</text>`,
    );
    legendY += 20;
  };
  for (const guide of chart.guides) {
    if (!(guide.y > 0)) continue;
    out.push(
      `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${f(sy(guide.y))}" y2="${f(sy(guide.y))}" stroke="${guide.color}" stroke-dasharray="2 4" stroke-width="1.5"/>`,
    );
    legend(guide.label, guide.color, 'stroke-dasharray="2 4"');
  }
  for (const series of chart.series) {
    const visible = series.points.filter((p) => Number.isFinite(p.y) && p.y > 0).sort((a, b) => a.x - b.x);
    if (visible.length === 0) continue;
    const dash = series.dashed ? 'stroke-dasharray="7 4"' : '';
    out.push(
      `<polyline fill="none" stroke="${series.color}" stroke-width="2" ${dash} points="${visible.map((p) => `${f(sx(p.x))},${f(sy(p.y))}`).join(' ')}"/>`,
      ...visible.map(
        (p) =>
          `<circle cx="${f(sx(p.x))}" cy="${f(sy(p.y))}" r="3" fill="${series.color}"><title>${escapeXml(series.label)}: ${p.y} ms at ${p.x}/s</title></circle>`,
      ),
    );
    legend(series.label, series.color, dash);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
