// The compiled extension activated against a fake `vscode` (fakeVscode.ts): where verm is not
// used it starts nothing and says nothing; where it is, it looks for the server (the Python
// extension's interpreter, .venv, PATH) and, when verm is missing, says so once, with the
// right buttons, and again after the interpreter changes.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { Emitter, FakeUri, FakeVscode, installFake } from './fakeVscode';

const fake = new FakeVscode();
installFake(fake);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const extension = require('../extension') as {
  activate(context: unknown): Promise<void>;
  deactivate(): Promise<void>;
};

const PATH = process.env['PATH'];
let folder: string;

function context(): unknown {
  return { subscriptions: [], extensionUri: FakeUri.file(path.join(__dirname, '..', '..')) };
}

// Waits on the event itself; the bound only stops a hung test (interpreter probing spawns
// Python, which takes tens of seconds on a loaded 2-core CI machine).
async function until(pred: () => boolean, what: string, ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('activation, against a fake VS Code', () => {
  beforeEach(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'verm-activation-'));
    fake.folder = folder;
    fake.shown.length = 0;
    fake.logs.length = 0;
    fake.openTexts.length = 0;
    fake.python = undefined;
    for (const key of Object.keys(fake.statusItem)) {
      delete fake.statusItem[key];
    }
    process.env['PATH'] = path.join(folder, 'no-bin'); // no verm on PATH
  });

  afterEach(async () => {
    await extension.deactivate();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  after(() => {
    process.env['PATH'] = PATH;
  });

  it('starts nothing and says nothing in a plain Python project', async () => {
    fs.writeFileSync(path.join(folder, 'pyproject.toml'), '[project]\nname = "plain"\n[tool.ruff]\n');
    fs.writeFileSync(path.join(folder, 'chart.py'), 'import matplotlib\n');
    fake.openTexts.push({ getText: () => 'import matplotlib\n', uri: FakeUri.file(path.join(folder, 'chart.py')), languageId: 'python' });
    await extension.activate(context());
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(fake.shown, []);
    assert.ok(!fake.logs.some((l) => l.includes('used in this window')), fake.logs.join('\n'));
    assert.equal(fake.statusItem['text'], undefined, 'the status item was never set');
    assert.ok(fake.commands.has('verm.openVisualDiff') && fake.commands.has('verm.showLogs'));
  });

  for (const [name, files] of [
    ['verm.toml', { 'verm.toml': '[tool.verm]\n' }],
    ['a pinned reference', { 'charts/sales.ref.png': 'png' }],
    ['[tool.verm] in pyproject.toml', { 'pyproject.toml': '[project]\nname = "x"\n\n[tool.verm]\ncritic = "analytic"\n' }],
  ] as const) {
    it(`looks for the server where verm is used: ${name}`, async () => {
      for (const [file, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(folder, file)), { recursive: true });
        fs.writeFileSync(path.join(folder, file), text);
      }
      await extension.activate(context());
      await until(() => fake.shown.length > 0, 'the missing-verm message');
      assert.equal(fake.shown.length, 1, 'one message');
      const [shown] = fake.shown;
      assert.equal(shown?.kind, 'warning');
      assert.match(shown?.text ?? '', /^verm: verm is not installed in the active Python environment or on PATH/);
      assert.deepEqual(shown?.actions, [], 'no Python extension: nothing to select, no interpreter to install into');
      assert.equal(fake.statusItem['text'], 'verm: not installed');
    });
  }

  it('starts for an open file with a verm pragma', async () => {
    fake.openTexts.push({ getText: () => '# verm: reference=design/sales.png\nimport x\n',
      uri: FakeUri.file(path.join(folder, 'chart.py')), languageId: 'python' });
    await extension.activate(context());
    await until(() => fake.shown.length > 0, 'the missing-verm message');
    assert.ok(fake.logs.some((l) => l.includes('a verm pragma in an open file')), fake.logs.join('\n'));
  });

  it('asks the Python extension\'s interpreter, offers to install there, and asks again when it changes', async () => {
    fs.writeFileSync(path.join(folder, 'verm.toml'), '');
    const python = process.env['VERM_PLAIN_PYTHON'] ?? '/usr/bin/python3'; // an interpreter without verm
    fake.python = { interpreter: python, changed: new Emitter() };
    await extension.activate(context());
    await until(() => fake.shown.length > 0, 'the missing-verm message');
    assert.match(fake.shown[0]?.text ?? '', new RegExp(`not installed in \`${python.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\``));
    assert.deepEqual(fake.shown[0]?.actions, ['Install into this environment', 'Select Interpreter']);
    fake.python.changed.fire({ path: python });
    await until(() => fake.shown.length > 1, 'the second message, after the interpreter changed');
    assert.ok(fake.logs.some((l) => l.includes('the Python interpreter changed')), fake.logs.join('\n'));
  });
});
