// verm check --report: the static report's index (one row per source; filter by failing or
// passing, sort by reward) and each source's page (its findings with their source lines, and
// the shared visual-diff viewer of viewer.js). The data is the JSON in #verm-report-data,
// written by verm/viewer/report_site.py. Every text reaches the page through textContent:
// source names, descriptions and source lines come from an untrusted workspace.
// @ts-check
'use strict';

(function (root) {
  const STATUS_WORDS = { pass: 'pass', fail: 'fail', 'not-rendered': 'not rendered', error: 'not checked' };
  const SEVERITY_ORDER = ['error', 'warning', 'info'];

  // viewer.js loads first (report.html): its element helper builds this page too
  const el = root.VermViewer.el;

  function statusOf(s) {
    if (s.error) {
      return 'error'; // verm could not judge it (exit status 2): no or an unusable reference
    }
    if (!s.rendered) {
      return 'not-rendered';
    }
    return s.equivalent ? 'pass' : 'fail';
  }

  function reward(s) {
    return typeof s.reward === 'number' ? s.reward.toFixed(2) : '—';
  }

  /** The sources the index shows, in its order: `filter` all|failing|passing, `sort` source|reward-asc|reward-desc. */
  function visible(sources, filter, sort) {
    const shown = sources.filter((s) => filter === 'all' || (filter === 'passing') === (statusOf(s) === 'pass'));
    if (sort === 'reward-asc' || sort === 'reward-desc') {
      const sign = sort === 'reward-asc' ? 1 : -1;
      const value = (s) => (typeof s.reward === 'number' ? s.reward : -1); // not checked: lowest
      shown.sort((a, b) => sign * (value(a) - value(b)) || a.id - b.id);
    } else {
      shown.sort((a, b) => a.id - b.id);
    }
    return shown;
  }

  function start() {
    const script = document.getElementById('verm-report-data');
    const report = script && script.textContent ? JSON.parse(script.textContent) : { sources: [] };
    const sources = report.sources || [];
    const byId = new Map(sources.map((s) => [s.id, s]));
    const index = /** @type {HTMLElement} */ (document.getElementById('verm-report-index'));
    const detail = /** @type {HTMLElement} */ (document.getElementById('verm-report-detail'));
    const rows = /** @type {HTMLElement} */ (document.getElementById('verm-report-rows'));
    const sortSelect = /** @type {HTMLSelectElement} */ (document.getElementById('verm-report-sort'));
    const filterButtons = Array.from(document.querySelectorAll('.verm-report-filter'));
    const viewerBox = /** @type {HTMLElement} */ (document.getElementById('verm-report-viewer'));
    let filter = 'all';
    let sort = 'source';
    let kept = {}; // the viewer's mode and sliders, kept from one source to the next
    const state = { viewer: null, source: null };
    root.vermReport = state;

    const failing = sources.filter((s) => statusOf(s) !== 'pass').length;
    const notRendered = sources.filter((s) => statusOf(s) === 'not-rendered').length;
    const notChecked = sources.filter((s) => statusOf(s) === 'error').length;
    const aside = [notRendered ? `${notRendered} not rendered` : '', notChecked ? `${notChecked} not checked` : ''].filter(Boolean).join(', ');
    /** @type {HTMLElement} */ (document.getElementById('verm-report-totals')).textContent =
      `${sources.length} ${sources.length === 1 ? 'source' : 'sources'}: ${sources.length - failing} passing, ` +
      `${failing} failing${aside ? ` (${aside})` : ''}` +
      (report.version ? ` · verm ${report.version}` : '');

    function row(s) {
      const status = statusOf(s);
      const tr = el('tr', `verm-report-row verm-report-${status}`);
      tr.dataset.id = String(s.id);
      tr.dataset.status = status;
      tr.dataset.reward = String(s.reward);
      const name = el('td', 'verm-report-source');
      const link = el('a', '', s.source);
      link.setAttribute('href', `#source-${s.id}`);
      name.appendChild(link);
      const result = el('td');
      result.appendChild(el('span', `verm-report-status verm-report-status-${status}`, STATUS_WORDS[status]));
      tr.append(name, el('td', 'verm-report-kind', s.kind), result, el('td', 'verm-report-num verm-report-reward', reward(s)));
      for (const word of SEVERITY_ORDER) {
        const n = (s.counts && s.counts[word]) || 0;
        tr.appendChild(el('td', `verm-report-num verm-report-count-${word}`, n ? String(n) : ''));
      }
      tr.addEventListener('click', (e) => {
        if (!(/** @type {Element} */ (e.target)).closest('a')) {
          root.location.hash = `#source-${s.id}`;
        }
      });
      return tr;
    }

    const rowOf = new Map(sources.map((s) => [s.id, row(s)]));

    function renderIndex() {
      const shown = visible(sources, filter, sort);
      const shownIds = new Set(shown.map((s) => s.id));
      for (const s of sources) {
        /** @type {HTMLElement} */ (rowOf.get(s.id)).hidden = !shownIds.has(s.id);
      }
      rows.replaceChildren(...shown.map((s) => rowOf.get(s.id)), ...sources.filter((s) => !shownIds.has(s.id)).map((s) => rowOf.get(s.id)));
      for (const b of filterButtons) {
        const on = /** @type {HTMLElement} */ (b).dataset.filter === filter;
        b.classList.toggle('verm-active', on);
        b.setAttribute('aria-pressed', String(on));
      }
      sortSelect.value = sort;
    }

    function findingItem(s, f) {
      const item = el('li', `verm-entry sev-${f.severity} cat-${root.VermViewer ? root.VermViewer.categoryFamily(f.category) : 'other'}`);
      const text = el('div', 'verm-entry-text');
      text.append(el('span', 'verm-badge', String(f.number)), el('span', '', ` ${f.category} (${f.severityWord}): ${f.message}`));
      item.appendChild(text);
      if (typeof f.line === 'number') {
        const code = el('div', 'verm-entry-code');
        code.appendChild(el('span', 'verm-entry-where', `${s.source}:${f.line + 1}`));
        if (typeof f.sourceLine === 'string') {
          code.appendChild(el('code', 'verm-entry-source', f.sourceLine));
        }
        item.appendChild(code);
      }
      return item;
    }

    function showDetail(s) {
      const shown = visible(sources, filter, sort);
      const at = shown.findIndex((x) => x.id === s.id);
      const status = statusOf(s);
      index.hidden = true;
      detail.hidden = false;
      detail.dataset.id = String(s.id);
      detail.dataset.status = status;
      /** @type {HTMLElement} */ (document.getElementById('verm-report-title')).textContent = s.source;
      const n = (s.findings || []).length;
      const counts = SEVERITY_ORDER.filter((w) => s.counts && s.counts[w]).map((w) => `${s.counts[w]} ${w}`).join(', ');
      /** @type {HTMLElement} */ (document.getElementById('verm-report-meta')).textContent = status === 'error'
        ? `${STATUS_WORDS[status]} · ${s.kind}${s.reference ? ` · reference ${s.reference}` : ''}`
        : `${STATUS_WORDS[status]} · reward ${reward(s)} of 2.00 · ${n} ${n === 1 ? 'finding' : 'findings'}` +
          `${counts ? ` (${counts})` : ''} · ${s.kind} · reference ${s.reference}`;
      for (const [cls, step] of [['.verm-report-prev', -1], ['.verm-report-next', 1]]) {
        const link = /** @type {HTMLElement} */ (detail.querySelector(/** @type {string} */ (cls)));
        const other = at >= 0 ? shown[at + /** @type {number} */ (step)] : undefined;
        if (other) {
          link.setAttribute('href', `#source-${other.id}`);
          link.hidden = false;
        } else {
          link.removeAttribute('href');
          link.hidden = true;
        }
      }
      const problem = /** @type {HTMLElement} */ (document.getElementById('verm-report-problem'));
      problem.replaceChildren();
      problem.hidden = !s.problem;
      if (s.problem) {
        problem.appendChild(el('p', 'verm-report-problem-message', s.problem));
        if (s.detail) {
          problem.appendChild(el('pre', 'verm-report-problem-detail', s.detail));
        }
      }
      const findings = /** @type {HTMLElement} */ (document.getElementById('verm-report-findings'));
      if (s.view && root.VermViewer) {
        findings.hidden = true;
        findings.replaceChildren();
        viewerBox.hidden = false;
        state.viewer = root.VermViewer.mount(viewerBox, s.view, {
          post: () => undefined,
          load: () => kept,
          save: (st) => {
            kept = { mode: st.mode, swipe: st.swipe, onion: st.onion }; // a new source fits its own zoom
          },
        });
      } else {
        viewerBox.hidden = true;
        viewerBox.replaceChildren();
        state.viewer = null;
        findings.hidden = n === 0;
        findings.replaceChildren(...(s.findings || []).map((f) => findingItem(s, f)));
      }
      state.source = s.id;
      root.scrollTo(0, 0);
    }

    function showIndex() {
      detail.hidden = true;
      index.hidden = false;
      state.source = null;
      renderIndex();
    }

    function route() {
      const m = /^#source-(\d+)$/.exec(root.location.hash);
      const s = m ? byId.get(Number(m[1])) : undefined;
      if (s) {
        showDetail(s);
      } else {
        showIndex();
      }
    }

    for (const b of filterButtons) {
      b.addEventListener('click', () => {
        filter = /** @type {HTMLElement} */ (b).dataset.filter || 'all';
        renderIndex();
      });
    }
    sortSelect.addEventListener('change', () => {
      sort = sortSelect.value;
      renderIndex();
    });
    root.addEventListener('hashchange', route);
    route();
    document.body.dataset.ready = 'true';
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})(window);
