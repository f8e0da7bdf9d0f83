// heatmap.js — draws one attention matrix as a self-contained SVG (title, token labels, cells,
// colour legend), tracks the highlighted row/column, and exports it as SVG, PNG or JSON.
// Small matrices are drawn as one <rect> per cell carrying data-row/data-col/data-value (so tests
// and assistive tools can read the numbers); large ones as one embedded bitmap.

const SVG_NS = 'http://www.w3.org/2000/svg';

// ColorBrewer YlGnBu (9 classes): cream for 0 ("no attention" reads as blank), navy for the max.
const STOPS = [
  [255, 255, 217], [237, 248, 177], [199, 233, 180], [127, 205, 187], [65, 182, 196],
  [29, 145, 192], [34, 94, 168], [37, 52, 148], [8, 29, 88],
];

/** Colour of t in [0, 1] (clamped) as [r, g, b]. */
export function colorRGB(t) {
  if (!(t > 0)) t = 0;
  if (t > 1) t = 1;
  const x = t * (STOPS.length - 1);
  const i = Math.min(Math.floor(x), STOPS.length - 2);
  const f = x - i;
  const a = STOPS[i], b = STOPS[i + 1];
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * f));
}

/** Colour of t in [0, 1] as a CSS colour string. */
export function color(t) {
  const [r, g, b] = colorRGB(t);
  return `rgb(${r},${g},${b})`;
}

/** Text colour readable on top of color(t). */
export function inkOn(t) {
  return t > 0.5 ? '#ffffff' : '#1b1f24';
}

/** CSS linear-gradient of the colour scale, left (0) to right (max). */
export function gradientCSS() {
  const stops = [];
  for (let k = 0; k <= 16; k++) stops.push(`${color(k / 16)} ${(k / 16) * 100}%`);
  return `linear-gradient(to right, ${stops.join(', ')})`;
}

/** Label of a legend tick at value v of a scale that ends at vmax. */
export function tickLabel(v, vmax) {
  return v.toFixed(vmax >= 0.1 ? 2 : 3);
}

/** Largest finite value of a matrix (0 for an empty one). */
export function matrixMax(m) {
  let mx = 0;
  for (const row of m) for (const v of row) if (v > mx && Number.isFinite(v)) mx = v;
  return mx;
}

const FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif';
const MAX_LABEL_CHARS = 18;
const RECT_LIMIT = 40000; // above this many cells, draw one bitmap instead of <rect>s
const COL_ANGLE = 60; // column labels are rotated by this many degrees (counter-clockwise)

let measureCtx = null;
function textWidth(s, px, weight = 400) {
  if (!measureCtx) measureCtx = document.createElement('canvas').getContext('2d');
  measureCtx.font = `${weight} ${px}px ${FONT_FAMILY}`;
  return measureCtx.measureText(s).width;
}

/**
 * Display form of a token: without the leading space (or SentencePiece ▁ / byte-level Ġ) that
 * marks a word start, "␣" for a token that is only whitespace, shortened to MAX_LABEL_CHARS
 * (the exact token goes in a <title> and the tooltip).
 */
export function shortLabel(s) {
  s = String(s).replace(/^[\s▁Ġ]+/u, '').replace(/\s+$/u, '');
  if (!s) return '␣';
  const chars = [...s];
  return chars.length > MAX_LABEL_CHARS ? chars.slice(0, MAX_LABEL_CHARS - 1).join('') + '…' : s;
}

function el(name, attrs = {}, text) {
  const e = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function fmt(v) {
  return Number.isFinite(v) ? v.toFixed(4) : String(v);
}

// Styles live inside the SVG so a downloaded file renders the same on its own.
const SVG_STYLE = `
  text { font-family: ${FONT_FAMILY}; fill: #1b1f24; }
  .title { font-size: 15px; font-weight: 600; }
  .subtitle { font-size: 12px; fill: #57606a; }
  .axis { font-size: 11px; fill: #57606a; letter-spacing: .02em; }
  .row-label, .col-label { cursor: pointer; }
  .row-label.hl, .col-label.hl { font-weight: 700; fill: #c4361b; }
  .row-label.al, .col-label.al { font-weight: 700; fill: #0b6e4f; text-decoration: underline; }
  .val { font-size: 10px; pointer-events: none; }
  .band { fill: none; stroke: #c4361b; stroke-width: 1.5; pointer-events: none; }
  .active { fill: none; stroke: #c4361b; stroke-width: 2.5; pointer-events: none; }
  .align { fill: none; stroke: #e4572e; stroke-width: 1.5; stroke-dasharray: 3 2; pointer-events: none; }
  .tick { font-size: 11px; fill: #57606a; }
  .grid-frame { fill: none; stroke: #8c959f; stroke-width: 1; }
`;

/**
 * A heatmap bound to one <svg> element. draw() replaces its content; setActive() moves the
 * highlight; cellAt() maps a pointer event to a cell.
 */
export class Heatmap {
  constructor(svg) {
    this.svg = svg;
    this.view = null;
    this.layout = null;
    this.active = { row: null, col: null };
  }

  /**
   * view: { rows: [labels], cols: [labels], matrix: [[number]], title, subtitle,
   *         rowAxis, colAxis, alignment: Map(row -> [cols]) | null }
   * opts: { cell: px per cell, vmax: value drawn darkest, showValues, showAlignment,
   *         standalone: draw the title, subtitle and colour legend inside the SVG (exports) }
   */
  draw(view, opts) {
    const svg = this.svg;
    this.view = view;
    this.opts = opts;
    const nr = view.rows.length, nc = view.cols.length;
    const c = opts.cell;
    const fontPx = Math.max(8, Math.min(13, Math.round(c * 0.75)));
    const rowLabels = view.rows.map(shortLabel), colLabels = view.cols.map(shortLabel);
    const rowW = Math.max(24, ...rowLabels.map((s) => textWidth(s, fontPx, 700))) + 8;
    const colW = Math.max(24, ...colLabels.map((s) => textWidth(s, fontPx, 700))) + 8;
    const rad = (COL_ANGLE * Math.PI) / 180;
    const colRise = colW * Math.sin(rad), colRun = colW * Math.cos(rad);

    // Title block (kind, layer, head, model) and colour legend are drawn for exported files; on
    // screen the page shows them as HTML above the scrolling map, always in view.
    const withTitle = !!opts.standalone;
    const titleH = withTitle ? (view.subtitle ? 44 : 26) : 0;
    const rowAxisText = (view.rowAxis || 'rows') + ' ↓';
    const colAxisText = (view.colAxis || 'columns') + ' →';
    const rowAxisW = textWidth(rowAxisText, 11) + 8;
    const x0 = 16 + Math.max(rowW, rowAxisW); // row labels (the row axis title sits above them)
    const y0 = 12 + titleH + 20 + colRise; // title, top axis title, rotated column labels
    const gw = nc * c, gh = nr * c;
    const legendW = Math.max(160, Math.min(280, gw));
    const legendY = y0 + gh + 22;
    const width = Math.ceil(Math.max(x0 + gw + colRun + 16, withTitle ? x0 + legendW + 120 : 0,
      withTitle ? 16 + textWidth(view.title || '', 15, 600) + 16 : 0,
      withTitle ? 16 + textWidth(view.subtitle || '', 12) + 16 : 0,
      x0 + textWidth(colAxisText, 11) + 16));
    const height = Math.ceil(withTitle ? legendY + 12 + 30 : y0 + gh + 16);
    this.layout = { x0, y0, c, nr, nc, gw, gh, width, height };

    svg.replaceChildren();
    svg.setAttribute('xmlns', SVG_NS);
    svg.setAttribute('width', width);
    svg.setAttribute('height', height);
    svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    svg.append(el('style', {}, SVG_STYLE));
    svg.append(el('rect', { x: 0, y: 0, width, height, fill: '#ffffff' }));

    if (withTitle) {
      svg.append(el('text', { class: 'title', x: 16, y: 12 + 15 }, view.title || ''));
      if (view.subtitle) svg.append(el('text', { class: 'subtitle', x: 16, y: 12 + 34 }, view.subtitle));
    }

    // Axis titles: columns along the top, rows in the corner above the row labels.
    svg.append(el('text', { class: 'axis', x: x0, y: 12 + titleH + 12 }, colAxisText));
    svg.append(el('text', { class: 'axis', x: x0 - 6, y: y0 - 8, 'text-anchor': 'end' }, rowAxisText));

    // Cells.
    const m = view.matrix;
    const vmax = opts.vmax > 0 ? opts.vmax : 1;
    const cells = el('g', { class: 'cells' });
    if (nr * nc <= RECT_LIMIT) {
      for (let i = 0; i < nr; i++) {
        for (let j = 0; j < nc; j++) {
          const v = m[i][j];
          cells.append(el('rect', {
            x: x0 + j * c, y: y0 + i * c, width: c, height: c, fill: color(v / vmax),
            'data-row': i, 'data-col': j, 'data-value': v,
          }));
        }
      }
    } else {
      cells.append(el('image', {
        x: x0, y: y0, width: gw, height: gh, preserveAspectRatio: 'none',
        style: 'image-rendering: pixelated', href: bitmapURL(m, nr, nc, vmax),
      }));
    }
    svg.append(cells);
    svg.append(el('rect', { class: 'grid-frame', x: x0 - 0.5, y: y0 - 0.5, width: gw + 1, height: gh + 1 }));

    // Values inside the cells, when they fit.
    if (opts.showValues && c >= 28 && nr * nc <= 2500) {
      const vals = el('g', { class: 'vals' });
      for (let i = 0; i < nr; i++) {
        for (let j = 0; j < nc; j++) {
          const v = m[i][j];
          if (!(v >= 0.005)) continue; // blank instead of a wall of ".00"
          vals.append(el('text', {
            class: 'val', x: x0 + j * c + c / 2, y: y0 + i * c + c / 2,
            'text-anchor': 'middle', 'dominant-baseline': 'central', style: `fill:${inkOn(v / vmax)}`,
          }, v >= 0.995 ? '1' : v.toFixed(2).replace(/^0/, '')));
        }
      }
      svg.append(vals);
    }

    // Alignment marks (cross-attention): the source tokens each target token is aligned to.
    if (opts.showAlignment && view.alignment) {
      const g = el('g', { class: 'aligns' });
      for (const [r, cols] of view.alignment) {
        for (const j of cols) {
          if (r < nr && j < nc) g.append(el('rect', { class: 'align', x: x0 + j * c + 1.5, y: y0 + r * c + 1.5, width: c - 3, height: c - 3 }));
        }
      }
      svg.append(g);
    }

    // Token labels.
    const rl = el('g', { class: 'row-labels', 'font-size': fontPx });
    rowLabels.forEach((s, i) => {
      const t = el('text', {
        class: 'row-label', 'data-row': i, x: x0 - 6, y: y0 + i * c + c / 2,
        'text-anchor': 'end', 'dominant-baseline': 'central',
      }, s);
      t.append(el('title', {}, `${view.rowAxis || 'row'} ${i + 1}: ${JSON.stringify(String(view.rows[i]))}`));
      rl.append(t);
    });
    const cl = el('g', { class: 'col-labels', 'font-size': fontPx });
    colLabels.forEach((s, j) => {
      const x = x0 + j * c + c / 2, y = y0 - 6;
      const t = el('text', {
        class: 'col-label', 'data-col': j, x: 0, y: 0, 'dominant-baseline': 'central',
        transform: `translate(${x} ${y}) rotate(${-COL_ANGLE})`,
      }, s);
      t.append(el('title', {}, `${view.colAxis || 'column'} ${j + 1}: ${JSON.stringify(String(view.cols[j]))}`));
      cl.append(t);
    });
    svg.append(rl, cl);

    // Colour legend: gradient bar from 0 to vmax with ticks.
    if (withTitle) {
      const lg = el('g', { class: 'legend', transform: `translate(${x0} ${legendY})` });
      const gradId = `hm-grad-${Math.random().toString(36).slice(2, 8)}`;
      const defs = el('defs');
      const grad = el('linearGradient', { id: gradId, x1: 0, x2: 1, y1: 0, y2: 0 });
      for (let k = 0; k <= 16; k++) grad.append(el('stop', { offset: k / 16, 'stop-color': color(k / 16) }));
      defs.append(grad);
      lg.append(defs);
      lg.append(el('rect', { x: 0, y: 0, width: legendW, height: 12, fill: `url(#${gradId})`, stroke: '#8c959f', 'stroke-width': 0.5 }));
      for (const f of [0, 0.25, 0.5, 0.75, 1]) {
        lg.append(el('line', { x1: f * legendW, x2: f * legendW, y1: 12, y2: 16, stroke: '#57606a' }));
        lg.append(el('text', { class: 'tick', x: f * legendW, y: 27, 'text-anchor': f === 0 ? 'start' : f === 1 ? 'end' : 'middle' },
          tickLabel(f * vmax, vmax)));
      }
      lg.append(el('text', { class: 'tick', x: legendW + 10, y: 10 }, 'attention weight'));
      lg.setAttribute('data-vmax', vmax);
      svg.append(lg);
    }

    // Highlight layer (on top, never catches the pointer).
    this.hl = el('g', { class: 'highlight' });
    svg.append(this.hl);
    this.active = { row: null, col: null };
  }

  /** Cell {row, col} under a pointer/mouse event, or null; row or col alone over a label. */
  cellAt(evt) {
    const t = evt.target;
    if (t && t.closest) {
      const lab = t.closest('.row-label, .col-label');
      if (lab) {
        return lab.classList.contains('row-label')
          ? { row: +lab.dataset.row, col: null }
          : { row: null, col: +lab.dataset.col };
      }
    }
    const L = this.layout;
    if (!L) return null;
    const ctm = this.svg.getScreenCTM();
    if (!ctm) return null;
    const p = new DOMPoint(evt.clientX, evt.clientY).matrixTransform(ctm.inverse());
    const col = Math.floor((p.x - L.x0) / L.c), row = Math.floor((p.y - L.y0) / L.c);
    if (row < 0 || col < 0 || row >= L.nr || col >= L.nc) return null;
    return { row, col };
  }

  /** Highlights row `row` and/or column `col` (null = none) and the aligned labels. */
  setActive(row, col) {
    const L = this.layout;
    if (!L) return;
    this.active = { row, col };
    this.hl.replaceChildren();
    for (const e of this.svg.querySelectorAll('.hl, .al')) e.classList.remove('hl', 'al');
    if (row !== null) {
      this.hl.append(el('rect', { class: 'band row-band', x: L.x0, y: L.y0 + row * L.c, width: L.gw, height: L.c }));
      this.svg.querySelector(`.row-label[data-row="${row}"]`)?.classList.add('hl');
      // Aligned tokens of this row (cross-attention with alignment).
      const al = this.view.alignment?.get(row) || [];
      for (const j of al) if (j !== col) this.svg.querySelector(`.col-label[data-col="${j}"]`)?.classList.add('al');
    }
    if (col !== null) {
      this.hl.append(el('rect', { class: 'band col-band', x: L.x0 + col * L.c, y: L.y0, width: L.c, height: L.gh }));
      this.svg.querySelector(`.col-label[data-col="${col}"]`)?.classList.add('hl');
      if (this.view.alignment) {
        for (const [r, cols] of this.view.alignment) {
          if (r !== row && cols.includes(col)) this.svg.querySelector(`.row-label[data-row="${r}"]`)?.classList.add('al');
        }
      }
    }
    if (row !== null && col !== null) {
      this.hl.append(el('rect', { class: 'active', x: L.x0 + col * L.c, y: L.y0 + row * L.c, width: L.c, height: L.c }));
    }
  }

  /** Screen-space rectangle of a cell (for tooltips and scrolling it into view). */
  cellRect(row, col) {
    const L = this.layout;
    const ctm = this.svg.getScreenCTM();
    const a = new DOMPoint(L.x0 + col * L.c, L.y0 + row * L.c).matrixTransform(ctm);
    const b = new DOMPoint(L.x0 + (col + 1) * L.c, L.y0 + (row + 1) * L.c).matrixTransform(ctm);
    return { left: a.x, top: a.y, right: b.x, bottom: b.y, width: b.x - a.x, height: b.y - a.y };
  }

  /** The drawing, with its title block, as a standalone SVG document (no highlight). */
  toSVGString() {
    const copy = new Heatmap(document.createElementNS(SVG_NS, 'svg'));
    copy.draw(this.view, { ...this.opts, standalone: true });
    copy.hl.remove();
    this.exportLayout = copy.layout;
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + new XMLSerializer().serializeToString(copy.svg);
  }

  /** The drawing as a PNG Blob at `scale` times its size. */
  toPNGBlob(scale = 2) {
    const src = URL.createObjectURL(new Blob([this.toSVGString()], { type: 'image/svg+xml' }));
    const L = this.exportLayout;
    return new Promise((resolve, reject) => {
      const img = new Image();
      img.onload = () => {
        const canvas = document.createElement('canvas');
        canvas.width = Math.ceil(L.width * scale);
        canvas.height = Math.ceil(L.height * scale);
        const ctx = canvas.getContext('2d');
        ctx.scale(scale, scale);
        ctx.drawImage(img, 0, 0, L.width, L.height);
        URL.revokeObjectURL(src);
        canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG encoding failed'))), 'image/png');
      };
      img.onerror = () => {
        URL.revokeObjectURL(src);
        reject(new Error('could not render the SVG'));
      };
      img.src = src;
    });
  }
}

/** One pixel per cell, as a PNG data URL (large matrices). */
function bitmapURL(m, nr, nc, vmax) {
  const canvas = document.createElement('canvas');
  canvas.width = nc;
  canvas.height = nr;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(nc, nr);
  for (let i = 0; i < nr; i++) {
    for (let j = 0; j < nc; j++) {
      const [r, g, b] = colorRGB(m[i][j] / vmax);
      const o = (i * nc + j) * 4;
      img.data[o] = r;
      img.data[o + 1] = g;
      img.data[o + 2] = b;
      img.data[o + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  return canvas.toDataURL('image/png');
}

/** Draws a small thumbnail of a matrix into a <canvas> (each map scaled to its own max). */
export function drawThumbnail(canvas, matrix) {
  const nr = matrix.length, nc = nr ? matrix[0].length : 0;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  if (!nr || !nc) return;
  const vmax = matrixMax(matrix) || 1;
  const cw = canvas.width / nc, ch = canvas.height / nr;
  for (let i = 0; i < nr; i++) {
    for (let j = 0; j < nc; j++) {
      ctx.fillStyle = color(matrix[i][j] / vmax);
      ctx.fillRect(Math.floor(j * cw), Math.floor(i * ch), Math.ceil(cw), Math.ceil(ch));
    }
  }
}

export { fmt as formatValue };
