// The visual-diff view: the page (CSP, nonce, data), the data the webview loads, and the
// shared viewer's own logic — mode switching, box layout and scaling, click → reveal — from
// the very viewer.js the build bundled into dist/viewer (the real-browser test is
// tests/test_viewer_browser.py).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import * as w from '../webview';
import { EXTENSION_ROOT } from './helpers';

const BUNDLED = path.join(EXTENSION_ROOT, 'dist', 'viewer');

interface Box { left: number; top: number; width: number; height: number; number: number; dashed: boolean; family: string }
interface Pane { name: string; pictures: Array<{ name: string; src: string; opacity: number; clip: number }>; boxes: Box[] }
interface State { mode: string; zoom: number | null; swipe: number; onion: number; selected: number | null; data: w.ViewData }
interface Viewer {
  MODES: string[];
  initialState(data: w.ViewData, saved?: unknown): State;
  update(state: State, event: Record<string, unknown>): { state: State; post: unknown };
  layout(state: State): { width: number; height: number; panes: Pane[]; slider: { label: string; value: number } | null };
  fitZoom(w: number, h: number, vw: number, vh: number): number;
  contentSecurityPolicy(nonce: string, source: string): string;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const viewer = require(path.join(BUNDLED, 'viewer.js')) as Viewer;

function view(overrides: Partial<w.ViewData> = {}): w.ViewData {
  return {
    title: 'icon.svg', reference: 'icon.ref.png',
    images: { reference: '/c/view/a-1-reference.png', render: '/c/view/a-1-render.png', diff: '/c/view/a-1-diff.png', width: 160, height: 100 },
    reward: 1.92, equivalent: false, rendered: true, readOnly: false,
    discrepancies: [
      { number: 1, index: 0, category: 'style_error', severity: 2, location: 'circle', message: 'colour </script>', line: 2,
        refBox: [44, 34, 116, 106], renderBox: [44, 34, 116, 106], fix: 'Change #D08770 to #5E81AC' },
      { number: 2, index: 1, category: 'shape_error', severity: 2, location: 'bar', message: 'moved', line: 3,
        refBox: [40, 120, 120, 134], renderBox: [60, 120, 140, 134], fix: null },
    ],
    ...overrides,
  };
}

describe('the page', () => {
  const template = fs.readFileSync(path.join(BUNDLED, 'viewer.html'), 'utf8');
  const page = w.pageHtml(template, { cspSource: 'vscode-webview://abc', nonce: 'N0nce', script: 'vscode-webview://abc/viewer.js',
    style: 'vscode-webview://abc/viewer.css', data: view(), title: 'icon.svg' });

  it('allows only its own nonce\'d script and pictures/styles from the webview', () => {
    const csp = /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(page)?.[1]?.replace(/&#x27;/g, "'");
    assert.equal(csp, "default-src 'none'; img-src vscode-webview://abc data:; style-src vscode-webview://abc; "
      + "script-src 'nonce-N0nce'; base-uri 'none'; form-action 'none'");
    assert.equal(csp, viewer.contentSecurityPolicy('N0nce', 'vscode-webview://abc'), 'the viewer states the same policy');
    assert.match(page, /<script nonce="N0nce" src="vscode-webview:\/\/abc\/viewer.js"><\/script>/);
    assert.ok(!/\{\{\w+\}\}/.test(page), 'every placeholder filled');
    assert.ok(!/ on[a-z]+=/.test(page), 'no inline handlers');
  });

  it('embeds the data so that no message can close the script element', () => {
    const json = /<script type="application\/json" id="verm-data">(.*?)<\/script>/s.exec(page)?.[1] ?? '';
    assert.ok(!json.includes('</script'), json);
    assert.equal((JSON.parse(json) as w.ViewData).discrepancies[0]?.message, 'colour </script>');
    assert.match(w.nonce((n) => Buffer.alloc(n, 7)), /^[A-Za-z0-9]{20,}$/);
  });

  it('loads the pictures through webview URIs, read-only when the workspace is untrusted', () => {
    const asUri = (f: string): string => `vscode-webview://abc${f}`;
    const trusted = w.toWebviewData(view(), asUri, true);
    assert.equal(trusted.images.diff, 'vscode-webview://abc/c/view/a-1-diff.png');
    assert.equal(trusted.readOnly, false);
    assert.equal(w.toWebviewData(view(), asUri, false).readOnly, true);
    assert.equal(w.toWebviewData(view({ readOnly: true }), asUri, true).readOnly, true, 'the server may say so too');
    assert.deepEqual(w.pictureFolders(view(), path.dirname), ['/c/view']);
  });

  it('accepts only the viewer\'s messages', () => {
    assert.ok(w.isViewerMessage({ type: 'reveal', index: 0, line: 2 }));
    assert.ok(w.isViewerMessage({ type: 'pin' }));
    assert.ok(!w.isViewerMessage({ type: 'reveal', index: '0', line: 2 }));
    assert.ok(!w.isViewerMessage({ type: 'exec', command: 'rm' }));
    const diags = [{ source: 'other', data: { index: 1 } }, { source: 'verm', data: { index: 1 } }];
    assert.equal(w.diagnosticOf(diags, 1, (d) => d.data), diags[1]);
  });
});

describe('viewer.js (the shared viewer\'s logic)', () => {
  it('switches modes, keeping what the user chose across judgements', () => {
    let s = viewer.initialState(view(), { mode: 'onion', zoom: 2, onion: 0.25 });
    assert.deepEqual([s.mode, s.zoom, s.onion], ['onion', 2, 0.25]);
    for (const mode of viewer.MODES) {
      s = viewer.update(s, { type: 'mode', mode }).state;
      assert.equal(s.mode, mode);
    }
    assert.equal(viewer.update(s, { type: 'mode', mode: 'bogus' }).state.mode, 'diff');
    assert.deepEqual(viewer.MODES, ['side', 'swipe', 'onion', 'diff']);
  });

  it('shows two panes side by side, one stack in swipe/onion/difference, with the right slider', () => {
    let s = viewer.initialState(view(), { zoom: 1 });
    const side = viewer.layout(s);
    assert.deepEqual(side.panes.map((p) => p.name), ['reference', 'render']);
    assert.equal(side.slider, null);
    s = viewer.update(viewer.update(s, { type: 'mode', mode: 'swipe' }).state, { type: 'slider', value: 0.3 }).state;
    const swipe = viewer.layout(s);
    assert.deepEqual(swipe.panes[0]?.pictures.map((p) => [p.name, p.clip]), [['render', 0], ['reference', 0.7]]);
    assert.equal(swipe.slider?.value, 0.3);
    s = viewer.update(viewer.update(s, { type: 'mode', mode: 'onion' }).state, { type: 'slider', value: 0.8 }).state;
    const onion = viewer.layout(s);
    assert.ok(Math.abs((onion.panes[0]?.pictures[1]?.opacity ?? 0) - 0.2) < 1e-9);
    assert.equal(s.swipe, 0.3, 'each mode keeps its own slider');
    s = viewer.update(s, { type: 'mode', mode: 'diff' }).state;
    assert.deepEqual(viewer.layout(s).panes[0]?.pictures.map((p) => p.name), ['diff']);
  });

  it('places and scales the boxes: each picture its own box, the moved one dashed where it was', () => {
    for (const zoom of [1, 2.5]) {
      const s = viewer.initialState(view(), { zoom, mode: 'side' });
      const [ref, ren] = viewer.layout(s).panes;
      const bar = (p: Pane | undefined): Box | undefined => p?.boxes.find((b) => b.number === 2);
      assert.deepEqual([bar(ref)?.left, bar(ref)?.top, bar(ref)?.width], [40 * zoom, 120 * zoom, 80 * zoom]);
      assert.equal(bar(ren)?.left, 60 * zoom);
      assert.equal(viewer.layout(s).width, 160 * zoom);
      const overlay = viewer.layout(viewer.update(s, { type: 'mode', mode: 'diff' }).state).panes[0];
      const bars = overlay?.boxes.filter((b) => b.number === 2) ?? [];
      assert.deepEqual(bars.map((b) => [b.left, b.dashed]), [[60 * zoom, false], [40 * zoom, true]]);
      assert.equal(overlay?.boxes.filter((b) => b.number === 1).length, 1, 'an unmoved box once');
      assert.deepEqual(overlay?.boxes.map((b) => b.family), ['style', 'shape', 'shape']);
    }
    assert.equal(viewer.fitZoom(160, 100, 320, 400), 2);
    assert.equal(viewer.fitZoom(0, 0, 320, 400), 1);
  });

  it('posts reveal with the line on a click, fix only where there is one, pin only when writable', () => {
    const s = viewer.initialState(view(), { zoom: 1 });
    const clicked = viewer.update(s, { type: 'select', index: 1 });
    assert.deepEqual(clicked.post, { type: 'reveal', index: 1, line: 3 });
    assert.equal(clicked.state.selected, 1);
    assert.deepEqual(viewer.update(s, { type: 'fix', index: 0 }).post, { type: 'fix', index: 0, line: 2 });
    assert.equal(viewer.update(s, { type: 'fix', index: 1 }).post, null);
    assert.deepEqual(viewer.update(s, { type: 'pin' }).post, { type: 'pin' });
    const readOnly = viewer.initialState(view({ readOnly: true }));
    assert.equal(viewer.update(readOnly, { type: 'pin' }).post, null);
    assert.equal(viewer.update(s, { type: 'select', index: 9 }).post, null);
  });

  it('takes a new judgement in place, dropping a selection that is gone', () => {
    const s = viewer.update(viewer.initialState(view(), { zoom: 3 }), { type: 'select', index: 1 }).state;
    const next = viewer.update(s, { type: 'data', data: view({ discrepancies: [] }) }).state;
    assert.deepEqual([next.selected, next.zoom, next.data.discrepancies.length], [null, 3, 0]);
  });
});
