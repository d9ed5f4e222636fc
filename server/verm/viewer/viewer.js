// verm's visual-diff viewer: one judgement (reference, render, difference, numbered boxes) in
// four modes — side by side, swipe, onion skin, difference — with synced zoom and pan.
// Plain script, no framework, no remote resources, no inline handlers: it runs under a
// Content-Security-Policy that allows only its own nonce'd script. The data contract is in
// verm/viewer/__init__.py. The pure half (state, update, layout, csp) is exported for node's
// test runner; the DOM half mounts on `#verm-viewer` with the JSON in `#verm-data`.
// @ts-check
'use strict';

(function (root) {
  const MODES = ['side', 'swipe', 'onion', 'diff'];
  const MODE_NAMES = { side: 'Side by side', swipe: 'Swipe', onion: 'Onion skin', diff: 'Difference' };
  const ZOOM_MIN = 0.1;
  const ZOOM_MAX = 16;
  const SEVERITY_WORDS = { 3: 'error', 2: 'warning', 1: 'info' };

  /** The colour family of each taxonomy category (CSS class `cat-<family>`). */
  const CATEGORY_FAMILY = {
    structure_error: 'structure',
    layout_error: 'structure',
    data_error: 'data',
    numeric_error: 'data',
    shape_error: 'shape',
    text_error: 'text',
    text_symbol_error: 'text',
    style_error: 'style',
  };

  /** @param {string} category */
  function categoryFamily(category) {
    return CATEGORY_FAMILY[category] || 'other';
  }

  /** @param {number} zoom */
  function clampZoom(zoom) {
    if (!Number.isFinite(zoom) || zoom <= 0) {
      return 1;
    }
    return Math.min(ZOOM_MAX, Math.max(ZOOM_MIN, zoom));
  }

  /** The zoom at which a W×H picture fits a view of the given size (never above 1:1 × 4). */
  function fitZoom(width, height, viewWidth, viewHeight) {
    if (!(width > 0 && height > 0 && viewWidth > 0 && viewHeight > 0)) {
      return 1;
    }
    return clampZoom(Math.min(viewWidth / width, viewHeight / height, 4));
  }

  /**
   * A fresh state for `data`, keeping what the user chose before (`saved`) — a new judgement
   * of the same file must not reset the mode, zoom or slider.
   */
  function initialState(data, saved) {
    const s = saved || {};
    return {
      data: data,
      mode: MODES.indexOf(s.mode) >= 0 ? s.mode : 'side',
      zoom: typeof s.zoom === 'number' ? clampZoom(s.zoom) : null, // null: fit when mounted
      swipe: typeof s.swipe === 'number' ? Math.min(1, Math.max(0, s.swipe)) : 0.5,
      onion: typeof s.onion === 'number' ? Math.min(1, Math.max(0, s.onion)) : 0.5,
      selected: null,
    };
  }

  /** What the host should keep between reloads (VS Code's `setState`). */
  function persisted(state) {
    return { mode: state.mode, zoom: state.zoom, swipe: state.swipe, onion: state.onion };
  }

  function discrepancy(state, index) {
    const found = state.data && state.data.discrepancies ? state.data.discrepancies : [];
    return found.find((d) => d.index === index) || null;
  }

  /**
   * One user action → the next state, and the message for the host, if any:
   * `{type:'reveal', index, line}` (select a box or entry), `{type:'fix', index}`,
   * `{type:'pin'}` (never when read-only).
   */
  function update(state, event) {
    const next = Object.assign({}, state);
    switch (event.type) {
      case 'mode':
        if (MODES.indexOf(event.mode) >= 0) {
          next.mode = event.mode;
        }
        return { state: next, post: null };
      case 'zoom':
        next.zoom = clampZoom(event.zoom);
        return { state: next, post: null };
      case 'zoomBy':
        next.zoom = clampZoom((state.zoom || 1) * event.factor);
        return { state: next, post: null };
      case 'slider': {
        const v = Math.min(1, Math.max(0, Number(event.value)));
        if (state.mode === 'swipe') {
          next.swipe = v;
        } else if (state.mode === 'onion') {
          next.onion = v;
        }
        return { state: next, post: null };
      }
      case 'select': {
        const d = discrepancy(state, event.index);
        if (d === null) {
          return { state: state, post: null };
        }
        next.selected = d.index;
        return { state: next, post: { type: 'reveal', index: d.index, line: d.line } };
      }
      case 'fix': {
        const d = discrepancy(state, event.index);
        return { state: state, post: d && d.fix ? { type: 'fix', index: d.index, line: d.line } : null };
      }
      case 'pin':
        return { state: state, post: state.data && !state.data.readOnly ? { type: 'pin' } : null };
      case 'data':
        next.data = event.data;
        if (discrepancy(next, state.selected) === null) {
          next.selected = null;
        }
        return { state: next, post: null };
      default:
        return { state: state, post: null };
    }
  }

  /** A box in picture pixels → CSS pixels at `zoom`. */
  function scaleBox(box, zoom) {
    return {
      left: box[0] * zoom,
      top: box[1] * zoom,
      width: Math.max(1, (box[2] - box[0]) * zoom),
      height: Math.max(1, (box[3] - box[1]) * zoom),
    };
  }

  function sameBox(a, b) {
    return a !== null && b !== null && a.every((v, i) => Math.abs(v - b[i]) < 0.5);
  }

  /**
   * The boxes a pane shows. The reference pane draws where each discrepancy is in the
   * reference, the render pane where it is in the render; the single-picture modes draw the
   * render's box, and the reference's dashed where it differs (something moved).
   */
  function boxesFor(state, pane, zoom) {
    const out = [];
    const found = state.data && state.data.discrepancies ? state.data.discrepancies : [];
    for (const d of found) {
      const ref = d.refBox || null;
      const ren = d.renderBox || null;
      const drawn = [];
      if (pane === 'reference') {
        drawn.push([ref || ren, false]);
      } else if (pane === 'render') {
        drawn.push([ren || ref, false]);
      } else {
        drawn.push([ren || ref, false]);
        if (ref !== null && ren !== null && !sameBox(ref, ren)) {
          drawn.push([ref, true]);
        }
      }
      for (const [box, dashed] of drawn) {
        if (box === null) {
          continue;
        }
        out.push(Object.assign(scaleBox(box, zoom), {
          index: d.index,
          number: d.number,
          family: categoryFamily(d.category),
          severity: d.severity,
          dashed: dashed,
          selected: state.selected === d.index,
          label: describe(d),
        }));
      }
    }
    return out;
  }

  /** "2 · style_error (warning) line 3: fill is …" — a box's tooltip and list text. */
  function describe(d) {
    const where = typeof d.line === 'number' ? ` line ${d.line + 1}` : '';
    return `${d.number} · ${d.category} (${SEVERITY_WORDS[d.severity] || d.severity})${where}: ${d.message}`;
  }

  /** "charts/bars.py:8" — where a discrepancy's line is (the data's `path`, else its title). */
  function sourceWhere(data, d) {
    const path = (data && (data.path || data.title)) || '';
    return typeof d.line === 'number' ? `${path}:${d.line + 1}` : path;
  }

  /**
   * What the stage shows in the current mode: its panes, each with the pictures stacked in it
   * (bottom first; `opacity`, and `clip` the share of the width hidden on the right) and its
   * boxes; and the slider, when the mode has one.
   */
  function layout(state) {
    const data = state.data || {};
    const images = data.images || {};
    const zoom = state.zoom || 1;
    const width = (images.width || 0) * zoom;
    const height = (images.height || 0) * zoom;
    const pic = (name, extra) => Object.assign({ name: name, src: images[name], opacity: 1, clip: 0 }, extra || {});
    let panes;
    let slider = null;
    switch (state.mode) {
      case 'swipe':
        panes = [{ name: 'overlay', caption: `reference ◀ ▶ render`, pictures: [pic('render'), pic('reference', { clip: 1 - state.swipe })] }];
        slider = { label: 'Swipe', value: state.swipe };
        break;
      case 'onion':
        panes = [{ name: 'overlay', caption: 'render under reference', pictures: [pic('render'), pic('reference', { opacity: 1 - state.onion })] }];
        slider = { label: 'Render opacity', value: state.onion };
        break;
      case 'diff':
        panes = [{ name: 'overlay', caption: 'difference: red only in reference, green only in render, orange changed', pictures: [pic('diff')] }];
        break;
      default:
        panes = [
          { name: 'reference', caption: `reference (${data.reference || ''})`, pictures: [pic('reference')] },
          { name: 'render', caption: 'render', pictures: [pic('render')] },
        ];
    }
    for (const pane of panes) {
      pane.boxes = boxesFor(state, pane.name, zoom);
    }
    return { mode: state.mode, zoom: zoom, width: width, height: height, panes: panes, slider: slider };
  }

  /**
   * The Content-Security-Policy of a page showing the viewer: nothing but pictures and the
   * stylesheet from `source` (VS Code's `webview.cspSource`; the report's own folder) and the
   * one script carrying `nonce`.
   */
  function contentSecurityPolicy(nonce, source) {
    return [
      "default-src 'none'",
      `img-src ${source} data:`,
      `style-src ${source}`,
      `script-src 'nonce-${nonce}'`,
      "base-uri 'none'",
      "form-action 'none'",
    ].join('; ');
  }

  const api = {
    MODES: MODES,
    MODE_NAMES: MODE_NAMES,
    categoryFamily: categoryFamily,
    clampZoom: clampZoom,
    fitZoom: fitZoom,
    initialState: initialState,
    persisted: persisted,
    update: update,
    scaleBox: scaleBox,
    boxesFor: boxesFor,
    describe: describe,
    sourceWhere: sourceWhere,
    layout: layout,
    contentSecurityPolicy: contentSecurityPolicy,
  };

  if (typeof module === 'object' && module.exports) {
    module.exports = api;
    return;
  }
  root.VermViewer = api;

  // ---- the DOM half ---------------------------------------------------------------------------

  /** @param {string} tag @param {string} [cls] @param {string} [text] */
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) {
      e.className = cls;
    }
    if (text !== undefined) {
      e.textContent = text;
    }
    return e;
  }

  /** How the viewer talks to its host: `window.vermHost`, VS Code's API, or nobody. */
  function connectHost() {
    if (root.vermHost && typeof root.vermHost.post === 'function') {
      return root.vermHost;
    }
    if (typeof root.acquireVsCodeApi === 'function') {
      const vscode = root.acquireVsCodeApi();
      return {
        post: (m) => vscode.postMessage(m),
        load: () => vscode.getState(),
        save: (s) => vscode.setState(s),
      };
    }
    return { post: () => undefined };
  }

  function mount(container, data, host) {
    let state = initialState(data, host.load ? host.load() : undefined);
    let panes = []; // the pane elements of the current mode
    let syncing = false;

    const toolbar = el('div', 'verm-toolbar');
    const modeButtons = {};
    const modes = el('div', 'verm-modes');
    modes.setAttribute('role', 'tablist');
    for (const mode of MODES) {
      const b = el('button', 'verm-mode', MODE_NAMES[mode]);
      b.dataset.mode = mode;
      b.setAttribute('role', 'tab');
      b.addEventListener('click', () => dispatch({ type: 'mode', mode: mode }));
      modes.appendChild(b);
      modeButtons[mode] = b;
    }
    const zoomOut = el('button', 'verm-zoom-out', '−');
    zoomOut.title = 'Zoom out';
    const zoomIn = el('button', 'verm-zoom-in', '+');
    zoomIn.title = 'Zoom in';
    const zoomFit = el('button', 'verm-zoom-fit', 'Fit');
    const zoomOne = el('button', 'verm-zoom-one', '1:1');
    const zoomLabel = el('span', 'verm-zoom-label');
    zoomOut.addEventListener('click', () => dispatch({ type: 'zoomBy', factor: 1 / 1.25 }));
    zoomIn.addEventListener('click', () => dispatch({ type: 'zoomBy', factor: 1.25 }));
    zoomOne.addEventListener('click', () => dispatch({ type: 'zoom', zoom: 1 }));
    zoomFit.addEventListener('click', () => dispatch({ type: 'zoom', zoom: fit() }));
    const zoom = el('div', 'verm-zoom');
    zoom.append(zoomOut, zoomLabel, zoomIn, zoomFit, zoomOne);
    const sliderBox = el('label', 'verm-slider');
    const sliderLabel = el('span', 'verm-slider-label');
    const slider = /** @type {HTMLInputElement} */ (el('input', 'verm-slider-input'));
    slider.type = 'range';
    slider.min = '0';
    slider.max = '1000';
    slider.addEventListener('input', () => dispatch({ type: 'slider', value: Number(slider.value) / 1000 }));
    sliderBox.append(sliderLabel, slider);
    const summary = el('div', 'verm-summary');
    toolbar.append(modes, zoom, sliderBox, summary);

    const stage = el('div', 'verm-stage');
    const list = el('ol', 'verm-list');
    container.replaceChildren(toolbar, stage, list);

    function fit() {
      const images = state.data.images || {};
      const columns = state.mode === 'side' ? 2 : 1;
      const w = (stage.clientWidth || 600) / columns - 24;
      const h = Math.max(200, (root.innerHeight || 600) - stage.getBoundingClientRect().top - 80);
      return fitZoom(images.width, images.height, w, h);
    }

    function dispatch(event) {
      const before = state;
      const out = update(state, event);
      state = out.state;
      if (out.post) {
        host.post(out.post);
      }
      if (host.save) {
        host.save(persisted(state));
      }
      render(before);
    }

    function buildStage() {
      const view = layout(state);
      stage.replaceChildren();
      stage.dataset.mode = state.mode;
      panes = view.panes.map((p) => {
        const pane = el('section', `verm-pane verm-pane-${p.name}`);
        pane.dataset.pane = p.name;
        const caption = el('div', 'verm-caption', p.caption);
        const scroller = el('div', 'verm-scroller');
        const canvas = el('div', 'verm-canvas');
        for (const picture of p.pictures) {
          const img = /** @type {HTMLImageElement} */ (el('img', `verm-picture verm-picture-${picture.name}`));
          img.alt = picture.name;
          img.draggable = false;
          if (picture.src) {
            img.src = picture.src;
          }
          canvas.appendChild(img);
        }
        const boxes = el('div', 'verm-boxes');
        canvas.appendChild(boxes);
        if (p.name === 'overlay' && state.mode === 'swipe') {
          const divider = el('div', 'verm-divider');
          divider.title = 'Drag to swipe between reference and render';
          canvas.appendChild(divider);
          dragDivider(divider, canvas);
        }
        scroller.appendChild(canvas);
        pane.append(caption, scroller);
        stage.appendChild(pane);
        panWithPointer(scroller);
        scroller.addEventListener('scroll', () => syncScroll(scroller));
        return { pane, scroller, canvas, boxes };
      });
    }

    function dragDivider(divider, canvas) {
      divider.addEventListener('pointerdown', (e) => {
        e.stopPropagation();
        divider.setPointerCapture(e.pointerId);
        const move = (ev) => {
          const r = canvas.getBoundingClientRect();
          dispatch({ type: 'slider', value: (ev.clientX - r.left) / Math.max(1, r.width) });
        };
        const up = () => {
          divider.removeEventListener('pointermove', move);
          divider.removeEventListener('pointerup', up);
        };
        divider.addEventListener('pointermove', move);
        divider.addEventListener('pointerup', up);
      });
    }

    function panWithPointer(scroller) {
      scroller.addEventListener('pointerdown', (e) => {
        if (e.target.closest('.verm-box, .verm-divider')) {
          return;
        }
        const start = { x: e.clientX, y: e.clientY, left: scroller.scrollLeft, top: scroller.scrollTop };
        scroller.setPointerCapture(e.pointerId);
        scroller.classList.add('verm-panning');
        const move = (ev) => {
          scroller.scrollLeft = start.left - (ev.clientX - start.x);
          scroller.scrollTop = start.top - (ev.clientY - start.y);
        };
        const up = () => {
          scroller.classList.remove('verm-panning');
          scroller.removeEventListener('pointermove', move);
          scroller.removeEventListener('pointerup', up);
        };
        scroller.addEventListener('pointermove', move);
        scroller.addEventListener('pointerup', up);
      });
      scroller.addEventListener('wheel', (e) => {
        if (e.ctrlKey || e.metaKey) {
          e.preventDefault();
          dispatch({ type: 'zoomBy', factor: e.deltaY < 0 ? 1.1 : 1 / 1.1 });
        }
      }, { passive: false });
    }

    /** Side by side: panning one picture pans the other to the same place. */
    function syncScroll(from) {
      if (syncing) {
        return;
      }
      syncing = true;
      for (const p of panes) {
        if (p.scroller !== from) {
          p.scroller.scrollLeft = from.scrollLeft;
          p.scroller.scrollTop = from.scrollTop;
        }
      }
      syncing = false;
    }

    function applyLayout(previousZoom) {
      const view = layout(state);
      view.panes.forEach((p, i) => {
        const dom = panes[i];
        if (!dom) {
          return;
        }
        dom.canvas.style.width = `${view.width}px`;
        dom.canvas.style.height = `${view.height}px`;
        const imgs = dom.canvas.querySelectorAll('img');
        p.pictures.forEach((picture, j) => {
          const img = /** @type {HTMLImageElement} */ (imgs[j]);
          if (picture.src && img.getAttribute('src') !== picture.src) {
            img.src = picture.src;
          }
          img.style.opacity = String(picture.opacity);
          img.style.clipPath = picture.clip > 0 ? `inset(0 ${(picture.clip * 100).toFixed(3)}% 0 0)` : '';
        });
        const divider = dom.canvas.querySelector('.verm-divider');
        if (divider) {
          divider.style.left = `${(state.swipe * 100).toFixed(3)}%`;
        }
        dom.boxes.replaceChildren(...p.boxes.map(boxElement));
        if (previousZoom && previousZoom !== view.zoom) {
          const ratio = view.zoom / previousZoom;
          const s = dom.scroller;
          s.scrollLeft = (s.scrollLeft + s.clientWidth / 2) * ratio - s.clientWidth / 2;
          s.scrollTop = (s.scrollTop + s.clientHeight / 2) * ratio - s.clientHeight / 2;
        }
      });
      zoomLabel.textContent = `${Math.round(view.zoom * 100)}%`;
      sliderBox.hidden = view.slider === null;
      if (view.slider) {
        sliderLabel.textContent = view.slider.label;
        slider.value = String(Math.round(view.slider.value * 1000));
      }
    }

    function boxElement(b) {
      const box = el('button', `verm-box cat-${b.family} sev-${b.severity}${b.dashed ? ' verm-box-ref' : ''}${b.selected ? ' verm-selected' : ''}`);
      box.style.left = `${b.left}px`;
      box.style.top = `${b.top}px`;
      box.style.width = `${b.width}px`;
      box.style.height = `${b.height}px`;
      box.title = b.label;
      box.dataset.index = String(b.index);
      box.setAttribute('aria-label', b.label);
      box.appendChild(el('span', 'verm-badge', String(b.number)));
      box.addEventListener('click', () => dispatch({ type: 'select', index: b.index }));
      return box;
    }

    function renderList() {
      const data = state.data;
      const found = data.discrepancies || [];
      const reward = typeof data.reward === 'number' ? data.reward.toFixed(2) : '—';
      summary.textContent = found.length === 0
        ? `${data.title || ''}: matches ${data.reference || 'the reference'} (reward ${reward})`
        : `${data.title || ''}: ${found.length} ${found.length === 1 ? 'discrepancy' : 'discrepancies'}, reward ${reward} of 2.00`;
      list.replaceChildren(...found.map((d) => {
        const item = el('li', `verm-entry cat-${categoryFamily(d.category)} sev-${d.severity}${state.selected === d.index ? ' verm-selected' : ''}`);
        item.dataset.index = String(d.index);
        const go = el('button', 'verm-entry-reveal');
        go.append(el('span', 'verm-badge', String(d.number)), el('span', 'verm-entry-text', describe(d).replace(/^\d+ · /, '')));
        go.title = typeof d.line === 'number' ? `Go to line ${d.line + 1}` : 'Select';
        go.addEventListener('click', () => dispatch({ type: 'select', index: d.index }));
        item.appendChild(go);
        if (typeof d.sourceLine === 'string') { // the line itself, where the host sends it
          const code = el('div', 'verm-entry-code');
          code.append(el('span', 'verm-entry-where', sourceWhere(data, d)), el('code', 'verm-entry-source', d.sourceLine));
          item.appendChild(code);
        }
        const actions = el('span', 'verm-entry-actions');
        if (d.fix) {
          const fix = el('button', 'verm-fix', `Quick fix: ${d.fix}`);
          fix.addEventListener('click', () => dispatch({ type: 'fix', index: d.index }));
          actions.appendChild(fix);
        }
        if (!data.readOnly) {
          const pin = el('button', 'verm-pin', 'Accept (pin this render)');
          pin.title = 'The render is right: make it the reference';
          pin.addEventListener('click', () => dispatch({ type: 'pin' }));
          actions.appendChild(pin);
        }
        item.appendChild(actions);
        return item;
      }));
    }

    function render(before) {
      if (!before || before.mode !== state.mode || before.data !== state.data) {
        buildStage();
      }
      for (const mode of MODES) {
        modeButtons[mode].classList.toggle('verm-active', mode === state.mode);
        modeButtons[mode].setAttribute('aria-selected', String(mode === state.mode));
      }
      if (state.zoom === null) {
        state.zoom = fit();
      }
      applyLayout(before && before.mode === state.mode ? before.zoom : null);
      renderList();
      container.dataset.ready = 'true';
    }

    render(null);
    return {
      dispatch: dispatch,
      state: () => state,
    };
  }

  function readData() {
    const script = document.getElementById('verm-data');
    if (!script || !script.textContent || !script.textContent.trim()) {
      return null;
    }
    return JSON.parse(script.textContent);
  }

  function start() {
    const container = document.getElementById('verm-viewer');
    if (!container) {
      return;
    }
    const host = connectHost();
    const data = readData() || { title: '', images: {}, discrepancies: [], readOnly: true };
    const viewer = mount(container, data, host);
    root.vermViewer = viewer;
    root.addEventListener('message', (e) => {
      const m = e.data;
      if (m && m.type === 'data' && m.data) {
        viewer.dispatch({ type: 'data', data: m.data });
      }
    });
    host.post({ type: 'ready' });
  }

  api.mount = mount;
  api.el = el;
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})(typeof window !== 'undefined' ? window : globalThis);
