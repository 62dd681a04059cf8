"""The page's own scripts for the GAN-Lab additions: layer checkboxes (browser-side, no server round trip),
drawing points with the mouse or a finger, and copying a share link. Strings only; layout.py wires them.
"""
import json

from playground.web.lab_plots import LAYER_TRACES

DRAW_EXTENT = 3.0        # the drawing pad spans x and y in [-3, 3]
DRAW_SPACING = 0.1       # a drag adds a point each time it has moved this far (data units)

# Applied in LIVE_PLOT_JS before every redraw, so a hidden layer stays hidden as the 2D view refreshes (only
# there: the Explore tab's cloud also has traces named "real" and "generated").
HIDE_LAYERS_JS = """
  const hidden = chart.closest('#toy-plot') ? window.ganHiddenTraces || [] : [];
  figure.data.forEach((trace) => { if (hidden.includes(trace.name)) trace.visible = false; });
"""

LAYERS_JS = """(layers) => {
  const groups = %s;
  window.ganHiddenTraces = Object.keys(groups).filter((layer) => !layers.includes(layer)).flatMap((l) => groups[l]);
  const chart = document.querySelector('#toy-plot .js-plotly-plot');
  if (chart && chart.data && chart.data.length) {
    const visible = chart.data.map((trace) => !window.ganHiddenTraces.includes(trace.name));
    Plotly.restyle(chart, {visible: visible}, chart.data.map((_, i) => i));
  }
  return [];
}""" % json.dumps(LAYER_TRACES)

DRAW_HTML = ('<div class="draw-pad"><canvas width="320" height="320" style="width: 100%; max-width: 320px; '
             'touch-action: none; border: 1px solid #ccc; cursor: crosshair"></canvas><br>'
             '<button type="button" class="draw-clear">clear points</button> '
             '<span class="draw-count"></span></div>')

# Draws on the canvas and writes each point into the points box (the server reads only the box, as typed).
DRAW_JS = """
const extent = %s, spacing = %s;
const canvas = element.querySelector('canvas'), context = canvas.getContext('2d');
const box = () => document.querySelector('#points textarea');
const parse = () => (box() ? box().value : '').split('\\n').map((line) => line.split('#')[0].split(/[ ,]+/)
  .filter(Boolean).map(Number)).filter((p) => p.length === 2 && p.every(Number.isFinite));
const toPixel = (v, flip) => (flip ? extent - v : v + extent) / (2 * extent) * canvas.width;
const redraw = () => {
  const points = parse();
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.strokeStyle = '#ddd';
  for (let v = -extent; v <= extent; v += 1) {
    context.beginPath(); context.moveTo(toPixel(v), 0); context.lineTo(toPixel(v), canvas.height); context.stroke();
    context.beginPath(); context.moveTo(0, toPixel(v, true)); context.lineTo(canvas.width, toPixel(v, true)); context.stroke();
  }
  context.fillStyle = '#1b7837';
  points.forEach(([x, y]) => { context.beginPath(); context.arc(toPixel(x), toPixel(y, true), 3, 0, 2 * Math.PI); context.fill(); });
  element.querySelector('.draw-count').textContent = points.length + ' points (drag on the pad to draw more)';
};
const write = (text) => { const b = box(); b.value = text; b.dispatchEvent(new Event('input', {bubbles: true})); redraw(); };
let last = null, drawing = false;
const add = (event) => {
  const rect = canvas.getBoundingClientRect();
  const x = ((event.clientX - rect.left) / rect.width * 2 - 1) * extent;
  const y = (1 - (event.clientY - rect.top) / rect.height * 2) * extent;
  if (last && Math.hypot(x - last[0], y - last[1]) < spacing) return;
  last = [x, y];
  const text = box().value.trim();
  write((text ? text + '\\n' : '') + x.toFixed(2) + ', ' + y.toFixed(2));
};
canvas.addEventListener('pointerdown', (e) => { drawing = true; last = null; canvas.setPointerCapture(e.pointerId); add(e); });
canvas.addEventListener('pointermove', (e) => { if (drawing) add(e); });
canvas.addEventListener('pointerup', () => { drawing = false; });
element.querySelector('.draw-clear').addEventListener('click', () => write(''));
document.addEventListener('input', (e) => { if (e.target === box()) redraw(); });
new MutationObserver(redraw).observe(element, {attributes: true, subtree: false});
setTimeout(redraw, 300);
""" % (DRAW_EXTENT, DRAW_SPACING)

COPY_LINK_JS = """(query) => {
  if (!query || !query.startsWith('?')) return query;
  const url = location.origin + location.pathname + query;
  history.replaceState(null, '', query);
  if (navigator.clipboard) navigator.clipboard.writeText(url).catch(() => {});
  return url;
}"""
