// Finding `verm serve` without configuration: setting → Python extension → .venv → PATH.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as d from '../discovery';

/** Probes over a fake machine: executable files, and the interpreters that have verm. */
function machine(executables: string[], withVerm: string[]): d.DiscoveryProbes & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    isExecutable: async (f) => executables.includes(f),
    hasVerm: async (p) => {
      asked.push(p);
      return withVerm.includes(p);
    },
  };
}

const base = { workspaceFolder: '/ws', pathEnv: '/usr/local/bin:/usr/bin', platform: 'linux' as const };

describe('discover', () => {
  it('takes the setting the user set, asking nothing', async () => {
    const probes = machine([], []);
    const found = await d.discover({ ...base, configured: { command: '/opt/verm', args: ['serve'] },
      activeInterpreter: '/env/bin/python' }, probes);
    assert.deepEqual(found, { command: { command: '/opt/verm', args: ['serve'] }, origin: 'setting' });
    assert.deepEqual(probes.asked, []);
  });

  it('prefers the Python extension\'s interpreter when it has verm', async () => {
    const probes = machine(['/env/bin/python', '/ws/.venv/bin/python', '/usr/bin/verm'], ['/env/bin/python']);
    const found = await d.discover({ ...base, activeInterpreter: '/env/bin/python' }, probes);
    assert.deepEqual(found, { command: { command: '/env/bin/python', args: ['-m', 'verm.cli', 'serve'] },
      origin: 'python-extension', python: '/env/bin/python' });
  });

  it('falls back to the workspace .venv, then verm on PATH', async () => {
    const venv = await d.discover({ ...base, activeInterpreter: '/env/bin/python' },
      machine(['/env/bin/python', '/ws/.venv/bin/python', '/usr/bin/verm'], ['/ws/.venv/bin/python']));
    assert.equal(d.isFound(venv) && venv.origin, 'workspace-venv');
    const onPath = await d.discover({ ...base }, machine(['/usr/bin/verm'], []));
    assert.deepEqual(onPath, { command: { command: '/usr/bin/verm', args: ['serve'] }, origin: 'path' });
  });

  it('works without the Python extension (no active interpreter)', async () => {
    const found = await d.discover({ ...base, activeInterpreter: undefined },
      machine(['/ws/.venv/bin/python'], ['/ws/.venv/bin/python']));
    assert.equal(d.isFound(found) && found.origin, 'workspace-venv');
  });

  it('says where it looked, and offers to install into the first interpreter asked', async () => {
    const missing = await d.discover({ ...base, activeInterpreter: '/env/bin/python' },
      machine(['/env/bin/python'], []));
    assert.ok(!d.isFound(missing));
    assert.deepEqual(missing, { python: '/env/bin/python', tried: ['/env/bin/python', 'verm on PATH'] });
    const message = d.missingMessage(missing);
    assert.match(message.text, /not installed in `\/env\/bin\/python`/);
    assert.deepEqual(message.actions, ['Install into this environment', 'Select Interpreter']);
    assert.deepEqual(d.installCommand('/env/bin/python'),
      { command: '/env/bin/python', args: ['-m', 'pip', 'install', 'verm'] });
    const nowhere = await d.discover({ ...base, workspaceFolder: undefined }, machine([], []));
    assert.deepEqual(d.missingMessage(nowhere as d.Missing).actions, ['Select Interpreter']);
  });

  it('knows Windows venvs and PATH', () => {
    assert.equal(d.venvPython('C:\\ws\\.venv', 'win32'), 'C:\\ws\\.venv\\Scripts\\python.exe');
    assert.deepEqual(d.vermOnPath('C:\\bin;D:\\py', 'win32'), ['C:\\bin\\verm.exe', 'D:\\py\\verm.exe']);
  });
});
