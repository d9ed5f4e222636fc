// The visual-diff view's glue (view.ts) against a fake VS Code: the page it loads (the shared
// viewer, its CSP, the pictures as webview URIs, their folder allowed), a new judgement posted
// to the open page, and the page's messages: reveal opens the line, pin runs verm.pin only in
// a trusted workspace, anything else is ignored.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { FakeUri, FakeVscode, installFake } from './fakeVscode';

const fake = new FakeVscode();
installFake(fake);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { DiffView } = require('../view') as typeof import('../view');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verm-view-'));
const source = path.join(dir, 'icon.svg');
fs.writeFileSync(source, '<svg>\n  <rect/>\n  <circle/>\n</svg>\n');
const pictures = path.join(dir, 'cache', 'view');

function answer(reward: number): unknown {
  return {
    uri: `file://${source}`, version: 1, generation: 1, state: 'judged', message: null,
    view: {
      title: 'icon.svg', reference: 'icon.ref.png', reward, equivalent: false, rendered: true, readOnly: false,
      images: { reference: path.join(pictures, 'a-reference.png'), render: path.join(pictures, 'a-render.png'),
        diff: path.join(pictures, 'a-diff.png'), width: 160, height: 160 },
      discrepancies: [{ number: 1, index: 0, category: 'style_error', severity: 2, location: 'circle',
        message: 'colour', line: 2, refBox: [1, 2, 3, 4], renderBox: [1, 2, 3, 4], fix: null }],
    },
  };
}

describe('the visual-diff view, against a fake VS Code', () => {
  const executed: Array<[string, string]> = [];
  let reward = 1.9;
  const client = {
    visualDiff: async () => answer(reward),
    execute: async (command: string, uri: FakeUri) => {
      executed.push([command, uri.fsPath]);
    },
  };
  const view = new DiffView(FakeUri.file(path.join(__dirname, '..', '..')) as never, () => client as never, () => true);
  const uri = FakeUri.file(source);

  after(() => {
    view.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loads the shared viewer with its CSP, the judgement, and the pictures\' folder allowed', async () => {
    await view.show(uri as never);
    const panel = fake.panels[0];
    assert.ok(panel);
    const html = panel.htmls[0] ?? '';
    assert.match(html, /Content-Security-Policy" content="default-src &#x27;none&#x27;; img-src vscode-webview:\/\/fake data:/);
    assert.match(html, /<script nonce="[A-Za-z0-9]+" src="vscode-webview:\/\/fake\/[^"]*dist\/viewer\/viewer.js"><\/script>/);
    assert.ok(html.includes(`"render":"vscode-webview://fake${path.join(pictures, 'a-render.png')}"`), html);
    const roots = (panel.options['localResourceRoots'] as FakeUri[]).map((r) => r.fsPath);
    assert.ok(roots.includes(pictures) && roots.some((r) => r.endsWith(path.join('dist', 'viewer'))), roots.join());
    assert.equal(panel.options['enableScripts'], true);
    assert.equal(panel.title, 'verm: icon.svg');
  });

  it('posts the next judgement to the open page instead of reloading it', async () => {
    const panel = fake.panels[0];
    assert.ok(panel);
    reward = 2;
    view.judged(uri as never);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(panel.htmls.length, 1, 'not reloaded: the page keeps its mode and zoom');
    const posted = panel.posted[0] as { type: string; data: { reward: number } };
    assert.equal(posted.type, 'data');
    assert.equal(posted.data.reward, 2);
    view.judged(FakeUri.file(path.join(dir, 'other.svg')) as never);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(panel.posted.length, 1, 'another file\'s judgement is not this view\'s');
  });

  it('reveals the line a box or entry names; pins only in a trusted workspace', async () => {
    const panel = fake.panels[0];
    assert.ok(panel);
    panel.fromPage({ type: 'reveal', index: 0, line: 2 });
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(fake.revealed, [{ path: source, line: 2 }]);
    fake.trusted = false;
    panel.fromPage({ type: 'pin' });
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(executed, [], 'an untrusted workspace is read-only');
    fake.trusted = true;
    panel.fromPage({ type: 'pin' });
    panel.fromPage({ type: 'exec', command: 'rm -rf /' });
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(executed, [['verm.pin', source]]);
  });
});
