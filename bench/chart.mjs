// A small SVG line chart of wall time against the number of hosts, for bench/report.mjs: one line
// per figure and tool, a logarithmic time axis (regbook's no-change apply and Ansible's first apply
// are two orders of magnitude apart), no dependency.

const W = 760;
const H = 440;
const M = { left: 64, right: 230, top: 36, bottom: 48 };
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Time ticks for a log axis: 1-2-5 steps covering [lo, hi] milliseconds. */
function logTicks(lo, hi) {
  const ticks = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++)
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo && v <= hi) ticks.push(v);
    }
  return ticks;
}
const fmtMs = (ms) => (ms >= 1000 ? `${+(ms / 1000).toFixed(1)} s` : `${ms} ms`);

/**
 * series: [{ label, tool: 'regbook' | 'ansible', dash?: string, points: [{ hosts, ms }] }].
 * Returns the SVG text. regbook's lines are solid blue shades, Ansible's orange shades; a figure
 * keeps its dash pattern in both tools, so the legend reads both ways.
 */
export function scalingChart(title, series) {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return undefined;
  const hostsMax = Math.max(...all.map((p) => p.hosts));
  const hostsMin = Math.min(...all.map((p) => p.hosts));
  const lo = 10 ** Math.floor(Math.log10(Math.min(...all.map((p) => p.ms))));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...all.map((p) => p.ms))));
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x0 = hostsMin === hostsMax ? 0 : Math.max(0, hostsMin - 1);
  const x = (h) => M.left + ((h - x0) / (hostsMax - x0 || 1)) * pw;
  const y = (ms) => M.top + ph - ((Math.log10(ms) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * ph;
  const colours = {
    regbook: ['#1f4e9c', '#3a7bd5', '#6fa8ef', '#0b2a5e'],
    ansible: ['#c2410c', '#ea7a2e', '#f4a261', '#7c2d12'],
  };
  const used = { regbook: 0, ansible: 0 };
  const o = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${M.left}" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
  );
  for (const t of logTicks(lo, hi)) {
    o.push(
      `<line x1="${M.left}" x2="${M.left + pw}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#ddd"/>`,
      `<text x="${M.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${fmtMs(t)}</text>`,
    );
  }
  for (const h of [...new Set(all.map((p) => p.hosts))].sort((a, b) => a - b)) {
    o.push(
      `<line x1="${x(h).toFixed(1)}" x2="${x(h).toFixed(1)}" y1="${M.top}" y2="${M.top + ph}" stroke="#eee"/>`,
      `<text x="${x(h).toFixed(1)}" y="${M.top + ph + 16}" text-anchor="middle">${h}</text>`,
    );
  }
  o.push(
    `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`,
    `<text x="${M.left + pw / 2}" y="${H - 10}" text-anchor="middle">hosts (1 master + N workers)</text>`,
    `<text transform="translate(14 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">wall time, median (log scale)</text>`,
  );
  series.forEach((s, i) => {
    const pts = [...s.points].sort((a, b) => a.hosts - b.hosts);
    if (pts.length === 0) return;
    const colour = colours[s.tool][used[s.tool]++ % colours[s.tool].length];
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    const path = pts.map((p) => `${x(p.hosts).toFixed(1)},${y(p.ms).toFixed(1)}`).join(' ');
    o.push(`<polyline points="${path}" fill="none" stroke="${colour}" stroke-width="2"${dash}/>`);
    for (const p of pts)
      o.push(
        `<circle cx="${x(p.hosts).toFixed(1)}" cy="${y(p.ms).toFixed(1)}" r="3" fill="${colour}"><title>${esc(s.label)}: ${p.hosts} hosts, ${fmtMs(Math.round(p.ms))}</title></circle>`,
      );
    const ly = M.top + 10 + i * 20;
    const lx = M.left + pw + 14;
    o.push(
      `<line x1="${lx}" x2="${lx + 26}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2"${dash}/>`,
      `<text x="${lx + 32}" y="${ly + 4}">${esc(s.label)}</text>`,
    );
  });
  o.push('</svg>');
  return o.join('\n') + '\n';
}
