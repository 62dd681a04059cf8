// The Explore tab's in-page generator: runs the generator exported by playground/sampling/export.py with
// TensorFlow.js, so sliders, seed, truncation, class and interpolation render here without a server request.
// This is a gr.HTML's js_on_load: Gradio provides `element`, `props` and `watch`; the value is the payload JSON.
// The server-rendered controls (#explore-server) stay as the fallback: shown when tfjs or the model cannot run
// here, or when the page is opened with ?render=server.
const SLIDER_LIMIT = 4, MAX_SLIDERS = 10, PARALLEL_SIN = 1e-6;
const STYLE = `<style>
  .gan-page { display: flex; flex-wrap: wrap; gap: 24px; }
  .gan-page .gp-controls { flex: 1 1 340px; }
  .gan-page[hidden], .gan-page [hidden] { display: none !important; }
  .gan-page .gp-row { display: grid; grid-template-columns: 13em 1fr 5em; align-items: center; gap: 6px; margin: 4px 0; }
  .gan-page .gp-row > * { min-width: 0; }
  .gan-page fieldset { border: 1px solid #ccc; padding: 6px; margin-top: 8px; }
  .gan-page fieldset input[type=number] { width: 5em; }
  .gan-page button { font-size: 0.85em; padding: 2px 8px; }
  .gan-page .gp-note { color: #b45309; font-weight: 600; }
  .gan-page .gp-view { flex: 0 0 auto; }
  .gan-page .gp-image { width: 336px; height: 336px; image-rendering: pixelated; border: 1px solid #ccc; }
  .gan-page .gp-points { border: 1px solid #ccc; }
</style>`;
const root = element.querySelector('.gan-page');
const state = {mode: 'raw', seed: 0, psi: 1, label: 0, values: [], from: 0, to: 1, how: 'spherical',
               frames: 12, frame: 0, view: 'sliders'};
let model = null, shape = '', cloudKey = '', cloud = null, directionsSeen = '', recomputing = false;
window.ganPage = {times: [], renders: 0, output: null, state, error: null};

const serverControls = () => document.getElementById('explore-server');
const forcedServer = new URLSearchParams(window.location.search).get('render') === 'server';

function fallBack(reason) {
  window.ganPage.error = reason;
  root.hidden = true;
  const server = serverControls();
  if (server) server.style.display = '';
}

function floatsOf(blob) {
  const bytes = Uint8Array.from(atob(blob.data), (c) => c.charCodeAt(0));
  return new Float32Array(bytes.buffer);
}

const tensorOf = (blob) => tf.tensor(floatsOf(blob), blob.shape, 'float32');

function load(payload) {
  const steps = payload.steps.map((s) => {
    const step = {...s};
    for (const name of ['table', 'kernel', 'bias', 'scale', 'shift']) if (s[name]) step[name] = tensorOf(s[name]);
    return step;
  });
  const directions = {};
  for (const [label, d] of Object.entries(payload.directions)) {
    directions[label] = {vectors: floatsOf(d.vectors), shares: d.shares, k: d.vectors.shape[0]};
  }
  return {...payload, steps, directions, seeds: floatsOf(payload.seeds),
          anchor: payload.anchor ? floatsOf(payload.anchor) : null, real: payload.real ? floatsOf(payload.real) : null};
}

function release(old) {
  if (old) for (const s of old.steps) for (const v of Object.values(s)) if (v instanceof tf.Tensor) v.dispose();
}

// -- the generator: the exported steps as tfjs ops (export.py documents them) --------------------------
function activate(step, h) {
  if (step.bias) h = h.add(step.bias);
  if (step.activation === 'relu') return tf.relu(h);
  return step.activation === 'tanh' ? tf.tanh(h) : h;
}

function generate(z, n, label) {
  return tf.tidy(() => {
    let h = tf.tensor2d(z, [n, model.latent_dim]);
    for (const s of model.steps) {
      if (s.op === 'embed') h = tf.concat([h, tf.tile(s.table.slice([label, 0], [1, -1]), [n, 1])], 1);
      else if (s.op === 'dense') h = activate(s, tf.matMul(h, s.kernel));
      else if (s.op === 'affine') h = h.mul(s.scale).add(s.shift);
      else if (s.op === 'relu') h = tf.relu(h);
      else if (s.op === 'leaky_relu') h = tf.leakyRelu(h, s.alpha);
      else if (s.op === 'reshape') h = h.reshape([n, ...s.shape]);
      else if (s.op === 'conv_t') {
        const [sh, sw] = s.strides, out = [n, h.shape[1] * sh, h.shape[2] * sw, s.kernel.shape[2]];
        h = activate(s, tf.conv2dTranspose(h, s.kernel, out, [sh, sw], 'same'));
      } else throw new Error(`unknown step ${s.op}`);
    }
    return model.kind === 'toy' ? h.mul(model.scale) : h;
  });
}

// -- latent maths: the same rules as playground/sampling/latent.py -----------------------------------
const baseZ = (seed) => model.seeds.subarray(seed * model.latent_dim, (seed + 1) * model.latent_dim);
const truncate = (z, psi) => Float32Array.from(z, (v) => Math.fround(v) * Math.fround(psi));
const labelKey = () => (model.num_classes ? String(state.label) : 'none');
const directions = () => model.directions[labelKey()];
const sliderCount = () => (state.mode === 'pca' ? directions().k : Math.min(MAX_SLIDERS, model.latent_dim));

function sliderZ() {
  const z = Float64Array.from(baseZ(state.seed));
  if (state.mode === 'pca') {
    const d = directions(), dim = model.latent_dim;
    for (let i = 0; i < d.k; i++) for (let j = 0; j < dim; j++) z[j] += state.values[i] * d.vectors[i * dim + j];
  } else {
    for (let i = 0; i < sliderCount(); i++) z[i] = state.values[i];
  }
  return truncate(z, state.psi);
}

function blend(z0, z1, t) {
  if (state.how === 'spherical') {
    let dot = 0, n0 = 0, n1 = 0;
    for (let i = 0; i < z0.length; i++) { dot += z0[i] * z1[i]; n0 += z0[i] ** 2; n1 += z1[i] ** 2; }
    const cos = Math.min(1, Math.max(-1, dot / Math.sqrt(n0 * n1))), angle = Math.acos(cos), sin = Math.sin(angle);
    if (sin >= PARALLEL_SIN) {
      const w0 = Math.sin((1 - t) * angle) / sin, w1 = Math.sin(t * angle) / sin;
      return Float64Array.from(z0, (v, i) => w0 * v + w1 * z1[i]);
    }
    if (cos < 0) note('the two seeds point in opposite directions: no single arc joins them, so the path is linear');
  }
  return Float64Array.from(z0, (v, i) => (1 - t) * v + t * z1[i]);
}

function frameZ() {
  const t = state.frames > 1 ? state.frame / (state.frames - 1) : 0;
  return truncate(blend(Float32Array.from(baseZ(state.from)), Float32Array.from(baseZ(state.to)), t), state.psi);
}

// -- drawing -------------------------------------------------------------------------------------------
function drawImage(data) {
  const [h, w, c] = model.output_shape, canvas = root.querySelector('.gp-image');
  canvas.width = w; canvas.height = h;
  const context = canvas.getContext('2d'), pixels = context.createImageData(w, h);
  for (let p = 0; p < h * w; p++) {
    for (let k = 0; k < 3; k++) {       // grey levels as plots.image_grid: (x + 1) * 127.5, rounded half up
      const x = Math.min(1, Math.max(-1, data[p * c + (c === 1 ? 0 : k)]));
      pixels.data[p * 4 + k] = Math.floor((x + 1) * 127.5 + 0.5);
    }
    pixels.data[p * 4 + 3] = 255;
  }
  context.putImageData(pixels, 0, 0);
}

function drawPoints(point) {
  const key = `${model.key}|${state.psi}|${labelKey()}`;
  if (key !== cloudKey) {
    const n = model.anchor.length / model.latent_dim, out = generate(truncate(model.anchor, state.psi), n,
                                                                      state.label);
    cloud = out.dataSync(); out.dispose(); cloudKey = key;
  }
  const canvas = root.querySelector('.gp-points'), context = canvas.getContext('2d'), size = canvas.width;
  let extent = 1e-6;
  for (const v of [...cloud, ...(model.real || []), ...point]) extent = Math.max(extent, Math.abs(v));
  const at = (v) => ((v / (extent * 1.1)) + 1) * size / 2;
  context.fillStyle = '#fff'; context.fillRect(0, 0, size, size);
  const dots = (values, colour, radius) => {
    context.fillStyle = colour;
    for (let i = 0; i < values.length; i += 2) context.fillRect(at(values[i]) - radius, size - at(values[i + 1]) - radius, 2 * radius, 2 * radius);
  };
  if (model.real) dots(model.real, '#2ca02c', 1.5);
  dots(cloud, '#9467bd', 1.5);
  dots(point, '#d62728', 5);
}

function render(started) {
  const z = state.view === 'frames' ? frameZ() : sliderZ();
  const out = generate(z, 1, state.label), data = out.dataSync();
  out.dispose();
  if (model.kind === 'image') drawImage(data); else drawPoints(data);
  window.ganPage.output = Array.from(data);
  window.ganPage.renders += 1;
  const times = window.ganPage.times;
  times.push(performance.now() - started);
  if (times.length > 2000) times.shift();
}

// -- controls ------------------------------------------------------------------------------------------
function note(text) {
  const box = root.querySelector('.gp-note');
  if (box) { box.textContent = text; box.hidden = !text; }
}

function clampedInt(name, raw, low, high) {
  const value = Math.round(Number(raw));
  const kept = Number.isFinite(value) ? Math.min(high, Math.max(low, value)) : low;
  if (kept !== Number(raw)) note(`${name} ${raw} is outside ${low}..${high}: using ${kept}`);
  return kept;
}

function resetSliders() {
  const base = baseZ(state.seed), clamped = [];
  state.values = Array.from({length: sliderCount()}, (_, i) => {
    if (state.mode === 'pca') return 0;
    const value = Math.round(Math.min(SLIDER_LIMIT, Math.max(-SLIDER_LIMIT, base[i])) * 100) / 100;
    if (Math.abs(base[i]) > SLIDER_LIMIT) clamped.push(`z[${i}] = ${base[i].toFixed(2)}`);
    return value;
  });
  root.querySelectorAll('.gp-slider').forEach((slider, i) => {
    slider.value = state.values[i];
    slider.closest('label').querySelector('output').textContent = state.values[i].toFixed(2);
  });
  if (clamped.length) note(`clamped to the slider's end (±${SLIDER_LIMIT}): ${clamped.join(', ')}`);
}

function sliderRows() {
  const name = state.mode === 'pca' ? 'PC' : 'z', shares = state.mode === 'pca' ? directions().shares : [];
  return Array.from({length: sliderCount()}, (_, i) => {
    const share = shares.length ? ` (${(shares[i] * 100).toFixed(1)}% of variance)` : '';
    return `<label class="gp-row">${name}[${i}]${share}<input type="range" class="gp-slider" data-i="${i}"
      min="${-SLIDER_LIMIT}" max="${SLIDER_LIMIT}" step="0.01" value="0"><output>0.00</output></label>`;
  }).join('');
}

function build() {
  const classes = Array.from({length: model.num_classes}, (_, i) => `<option value="${i}">${i}</option>`).join('');
  const seedMax = model.seeds.length / model.latent_dim - 1;
  const picture = model.kind === 'image' ? '<canvas class="gp-image"></canvas>'
    : '<canvas class="gp-points" width="360" height="360"></canvas>';
  root.innerHTML = `${STYLE}
    <div class="gp-controls">
      <p class="gp-info">Rendered in this page (TensorFlow.js): dragging costs the server nothing.
        <a href="?render=server" class="gp-server-link">render on the server instead</a></p>
      <label class="gp-row">sliders move <select class="gp-mode"><option value="raw">first latent dimensions</option>
        <option value="pca">PCA directions</option></select></label>
      <label class="gp-row">seed (0..${seedMax}) <input type="number" class="gp-seed" min="0" max="${seedMax}" step="1"
        value="${state.seed}"><button type="button" class="gp-random">random</button></label>
      <label class="gp-row">truncation ψ <input type="range" class="gp-psi" min="0.05" max="1" step="0.05"
        value="${state.psi}"><output>${state.psi}</output></label>
      <label class="gp-row" ${model.num_classes ? '' : 'hidden'}>${model.label_kind}
        <select class="gp-class">${classes}</select></label>
      <div class="gp-sliders">${sliderRows()}</div>
      <button type="button" class="gp-recompute" ${model.source === 'live' ? '' : 'hidden'}>recompute PCA directions
        (the live model keeps changing)</button>
      <fieldset class="gp-interp"><legend>interpolate (drag the frame slider)</legend>
        <label>from seed <input type="number" class="gp-from" min="0" max="${seedMax}" value="${state.from}"></label>
        <button type="button" class="gp-from-current">from the current seed</button>
        <label>to seed <input type="number" class="gp-to" min="0" max="${seedMax}" value="${state.to}"></label>
        <select class="gp-how"><option value="spherical">spherical (slerp)</option><option value="linear">linear</option></select>
        <label>frames <input type="number" class="gp-frames" min="2" max="64" value="${state.frames}"></label>
        <label class="gp-row">frame <input type="range" class="gp-frame" min="0" max="${state.frames - 1}" step="1"
          value="${state.frame}"><output>${state.frame}</output></label></fieldset>
      <p class="gp-note" hidden></p>
    </div>
    <div class="gp-view">${picture}</div>`;
  root.querySelector('.gp-mode').value = state.mode;
  root.querySelector('.gp-how').value = state.how;
  if (model.num_classes) root.querySelector('.gp-class').value = String(state.label);
  root.querySelectorAll('.gp-slider').forEach((slider, i) => { slider.value = state.values[i] ?? 0; });
  root.querySelectorAll('.gp-slider').forEach((slider, i) => {
    slider.closest('label').querySelector('output').textContent = Number(slider.value).toFixed(2);
  });
}

function onInput(event) {
  const target = event.target, cls = target.className, seedMax = model.seeds.length / model.latent_dim - 1;
  note('');
  if (cls === 'gp-slider') {
    state.view = 'sliders';
    state.values[Number(target.dataset.i)] = Number(target.value);
    target.closest('label').querySelector('output').textContent = Number(target.value).toFixed(2);
  } else if (cls === 'gp-psi') {
    state.psi = Number(target.value);
    target.closest('label').querySelector('output').textContent = target.value;
  } else if (cls === 'gp-seed') {
    if (target.value === '') return;
    state.seed = clampedInt('seed', target.value, 0, seedMax); state.view = 'sliders';
    resetSliders();
  } else if (cls === 'gp-mode' || cls === 'gp-class') {
    if (cls === 'gp-mode') state.mode = target.value; else state.label = Number(target.value);
    root.querySelector('.gp-sliders').innerHTML = sliderRows(); state.view = 'sliders';
    resetSliders();
  } else if (['gp-from', 'gp-to', 'gp-frames', 'gp-how', 'gp-frame'].includes(cls)) {
    if (target.value === '') return;
    if (cls === 'gp-from') state.from = clampedInt('from seed', target.value, 0, seedMax);
    if (cls === 'gp-to') state.to = clampedInt('to seed', target.value, 0, seedMax);
    if (cls === 'gp-how') state.how = target.value;
    if (cls === 'gp-frames') state.frames = clampedInt('frames', target.value, 2, 64);
    const frame = root.querySelector('.gp-frame');
    frame.max = state.frames - 1;
    state.frame = Math.min(Number(frame.value), state.frames - 1);
    frame.closest('label').querySelector('output').textContent = state.frame;
    state.view = 'frames';
  } else return;
  render(event.timeStamp);
}

function onClick(event) {
  const cls = event.target.className;
  if (cls === 'gp-random') {
    const seed = root.querySelector('.gp-seed');
    seed.value = Math.floor(Math.random() * (model.seeds.length / model.latent_dim));
    seed.dispatchEvent(new Event('input', {bubbles: true}));
  } else if (cls === 'gp-recompute') {
    note('recomputing the directions on the server…');
    recomputing = true;
    trigger('click');                           // page_model: a live run's directions are computed afresh
  } else if (cls === 'gp-from-current') {
    const from = root.querySelector('.gp-from');
    from.value = state.seed;
    from.dispatchEvent(new Event('input', {bubbles: true}));
  }
}

// TensorFlow.js and the model are fetched when the Explore tab first shows (a `pending` value names the source).
let pending = null, visible = false, tfjs = null;

function loadTensorFlow() {
  tfjs = tfjs || new Promise((resolve, reject) => {
    if (typeof tf !== 'undefined') return resolve();
    const script = document.createElement('script');
    script.src = root.dataset.tfjs;
    script.onload = resolve;
    script.onerror = () => reject(new Error('TensorFlow.js did not load'));
    document.head.appendChild(script);
  }).then(() => tf.setBackend('cpu'));   // faster than headless Chromium's software WebGL for models this small
  return tfjs;
}

function requestModel() {
  if (!pending || !visible) return;
  pending = null;
  loadTensorFlow().then(() => trigger('click'), (err) => fallBack(String(err)));
}

function receive() {
  if (!props.value || forcedServer) return;
  let payload;
  try { payload = JSON.parse(props.value); } catch (err) { return fallBack(`unreadable model: ${err}`); }
  if (payload.pending !== undefined) { pending = payload.pending; return requestModel(); }
  if (payload.error) return fallBack(payload.error);
  if (typeof tf === 'undefined') return fallBack('TensorFlow.js did not load');
  const sameSource = model && model.source === payload.source;
  const old = model;
  try {
    model = load(payload);
  } catch (err) { model = old; return fallBack(`cannot load the model here: ${err}`); }
  release(old);
  const newShape = JSON.stringify([model.kind, model.latent_dim, model.num_classes, model.seeds.length,
                                   Object.values(model.directions).map((d) => d.k)]);
  if (!sameSource) Object.assign(state, {label: 0, view: 'sliders'});
  const newDirections = JSON.stringify(Object.values(payload.directions).map((d) => d.shares));
  if (!sameSource || newShape !== shape || !root.querySelector('.gp-controls')) {
    shape = newShape;
    state.seed = Math.min(state.seed, model.seeds.length / model.latent_dim - 1);
    build();
    resetSliders();
  } else if (newDirections !== directionsSeen) {     // recomputed directions: new slider rows, back to 0
    root.querySelector('.gp-sliders').innerHTML = sliderRows();
    note('');
    resetSliders();
  }
  directionsSeen = newDirections;
  if (recomputing) { recomputing = false; note(''); }
  root.hidden = false;
  const server = serverControls();
  if (server) server.style.display = 'none';
  window.ganPage.error = null;
  window.ganPage.key = model.key;
  render(performance.now());
}

if (forcedServer) fallBack('the page was opened with ?render=server');
else if (!root.dataset.wired) {
  root.dataset.wired = '1';
  root.addEventListener('input', onInput);
  root.addEventListener('click', onClick);
  new IntersectionObserver((entries) => {
    visible = entries.some((entry) => entry.isIntersecting);
    requestModel();
  }).observe(element);
}
watch('value', receive);
receive();
