import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import * as logic from '../logic';
import * as fs from 'node:fs';
import { WORKSPACE_MARKERS } from '../activation';
import { COMMANDS as STATUS_COMMANDS } from '../statusView';
import { defaultSection, EXTENSION_ROOT, manifest } from './helpers';

const ctx = { workspaceFolder: '/ws', home: '/home/u' };

/** The model and policy settings: each loads a model, reaches a server or spends the GPU. */
const MODEL_KEYS = ['modelPath', 'adapter', 'quantize', 'device', 'endpoint', 'modelName', 'apiKeyEnv',
  'maxNewTokens', 'temperature', 'imageSize', 'prompts', 'idleUnload', 'trustRemoteCode', 'remoteTimeout',
  'remoteRetries', 'remoteConcurrency', 'stream',
  'policy', 'policyAdapter', 'policyEndpoint', 'policyName', 'policyApiKeyEnv', 'policyRounds',
  'policyMaxNewTokens', 'policyTemperature', 'policyQuantize', 'policyDevice', 'policyImageSize',
  'policyTimeout'];

describe('parseServerCommand', () => {
  it('takes the default array as it is', () => {
    assert.deepEqual(logic.parseServerCommand(['verm', 'serve'], ctx),
      { ok: true, value: { command: 'verm', args: ['serve'] } });
  });

  it('splits a string, honouring quotes', () => {
    assert.deepEqual(logic.parseServerCommand('python -m "verm.cli" serve --tcp \'127.0.0.1:2087\'', ctx),
      { ok: true, value: { command: 'python', args: ['-m', 'verm.cli', 'serve', '--tcp', '127.0.0.1:2087'] } });
  });

  it('expands ${workspaceFolder}, ${userHome} and ~', () => {
    assert.deepEqual(logic.parseServerCommand(['${workspaceFolder}/.venv/bin/verm', 'serve', '${userHome}/x'], ctx),
      { ok: true, value: { command: '/ws/.venv/bin/verm', args: ['serve', '/home/u/x'] } });
    assert.deepEqual(logic.parseServerCommand(['~/bin/verm', 'serve'], ctx),
      { ok: true, value: { command: '/home/u/bin/verm', args: ['serve'] } });
  });

  it('resolves a relative program path against the workspace folder', () => {
    assert.deepEqual(logic.parseServerCommand(['.venv/bin/verm', 'serve'], ctx),
      { ok: true, value: { command: path.join('/ws', '.venv/bin/verm'), args: ['serve'] } });
  });

  it('rejects empty, mistyped and folder-less commands with a message', () => {
    for (const bad of [[], '', '   ', [''], [1, 2], { command: 'verm' }, null, undefined]) {
      const parsed = logic.parseServerCommand(bad, ctx);
      assert.equal(parsed.ok, false, JSON.stringify(bad));
      assert.match(parsed.ok ? '' : parsed.error, /verm\.server\.command/);
    }
    const parsed = logic.parseServerCommand(['${workspaceFolder}/verm'], { home: '/h' });
    assert.equal(parsed.ok, false);
  });
});

describe('serverOptions / initializationOptions / documentSelector', () => {
  it('starts the server in the workspace folder when there is one', () => {
    const cmd = { command: 'verm', args: ['serve'] };
    assert.deepEqual(logic.serverOptions(cmd, '/ws'), { command: 'verm', args: ['serve'], options: { cwd: '/ws' } });
    assert.deepEqual(logic.serverOptions(cmd), { command: 'verm', args: ['serve'] });
  });

  it('sends workspace trust, and nothing else, at initialization', () => {
    assert.deepEqual(logic.initializationOptions(true), { trusted: true });
    assert.deepEqual(logic.initializationOptions(false), { trusted: false });
  });

  it('gives each workspace folder its own files (multi-root)', () => {
    const selector = logic.documentSelector('/ws/a');
    assert.ok(selector.every((f) => f.pattern?.startsWith('/ws/a/')), JSON.stringify(selector));
    assert.equal(selector.find((f) => f.language === 'xml')?.pattern, '/ws/a/**/*.svg');
    assert.equal(selector.find((f) => f.language === 'python')?.pattern, '/ws/a/**/*');
  });

  it('selects file-scheme python, html, markdown and svg (xml only for *.svg)', () => {
    const selector = logic.documentSelector();
    assert.ok(selector.every((f) => f.scheme === 'file'));
    assert.deepEqual(selector.map((f) => f.language).sort(), ['html', 'markdown', 'python', 'svg', 'xml']);
    assert.equal(selector.find((f) => f.language === 'xml')?.pattern, '**/*.svg');
  });
});

describe('serverSettings', () => {
  it('drops nulls, empty strings and the client-only server group', () => {
    assert.deepEqual(logic.serverSettings({
      critic: null, timeout: 5, chromium: '', viewport: '800x600', runOn: ['save'],
      server: { command: ['verm', 'serve'] },
    }), { timeout: 5, viewport: '800x600', runOn: ['save'] });
  });

  it('forwards the model and policy settings unchanged', () => {
    const section = {
      critic: 'remote', modelPath: '/models/critic', endpoint: ['http://a:8000/v1', 'https://b/v1'],
      apiKeyEnv: 'VERM_KEY', trustRemoteCode: false, temperature: 0, policyRounds: 2, quantize: '4bit',
      policyEndpoint: 'http://p:8000/v1', idleUnload: 0,
    };
    assert.deepEqual(logic.serverSettings(section), section);
  });

  it('sends no model or policy setting, nor the client-only groups, from an untrusted workspace', () => {
    const section = { critic: 'model', modelPath: '/m', endpoint: 'http://a/v1', policy: '/p', timeout: 5,
      trace: { server: 'verbose' }, server: { command: null } };
    assert.deepEqual(logic.serverSettings(section, false), { critic: 'model', timeout: 5 });
    assert.deepEqual(logic.serverSettings(section, true), { critic: 'model', modelPath: '/m', endpoint: 'http://a/v1',
      policy: '/p', timeout: 5 });
    assert.deepEqual([...logic.MODEL_KEYS].sort(), [...MODEL_KEYS].sort());
  });

  it('tolerates a missing or malformed section', () => {
    assert.deepEqual(logic.serverSettings(undefined), {});
    assert.deepEqual(logic.serverSettings(['x']), {});
  });
});

describe('opensInEditor', () => {
  it('shows diff images in the view, anything else as the server asked', () => {
    assert.equal(logic.opensInEditor({ uri: 'file:///c/verm/diffs/icon-1.png', external: true }), true);
    assert.equal(logic.opensInEditor({ uri: 'https://example.com/x.png', external: true }), false);
    assert.equal(logic.opensInEditor({ uri: 'file:///x/icon.svg' }), false);
  });
});

describe('judgementOf', () => {
  const d = (severity: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    verm: 'discrepancy', severity, reward: 1.9, reference: '/p/icon.ref.png', diff: '/c/icon.png', ...extra,
  });

  it('reads the reward and counts the discrepancies from the diagnostics data', () => {
    assert.deepEqual(logic.judgementOf([d(2), d(3), d(2)]), { reward: 1.9, discrepancies: 3 });
  });

  it('says nothing when verm has nothing to say', () => {
    assert.equal(logic.judgementOf([{ verm: 'problem', action: 'pin' }]), undefined);
    assert.equal(logic.judgementOf([]), undefined);
    assert.equal(logic.judgementOf([undefined, 'x', { verm: 'discrepancy' }]), undefined);
  });
});

describe('package.json', () => {
  const m = manifest();
  const props = m.contributes.configuration.properties;

  it('contributes every server setting of the README, with type, default and description', () => {
    for (const name of ['critic', 'severityThreshold', 'timeout', 'chromium', 'viewport', 'runOn',
      'debounceMs', 'workers', 'server.command']) {
      const schema = props[`verm.${name}`];
      assert.ok(schema, name);
      assert.ok(schema.type, `${name}: type`);
      assert.ok('default' in schema, `${name}: default`);
      assert.ok(schema.description ?? schema.markdownDescription, `${name}: description`);
    }
    assert.equal(props['verm.server.command']?.default, null, 'found without configuration by default');
    assert.deepEqual(props['verm.trace.server']?.enum, ['off', 'messages', 'verbose']);
  });

  it('has defaults that parse, and that the server gets without nulls', () => {
    const section = defaultSection(m);
    const sent = logic.serverSettings(section);
    assert.ok(Object.values(sent).every((v) => v !== null));
    assert.deepEqual(Object.keys(sent).sort(), ['debounceMs', 'runOn', 'severityThreshold', 'watchFolders',
      'workers']);
  });

  it('activates where verm is used: its config, a pinned reference, a pyproject, a selected language', () => {
    for (const marker of WORKSPACE_MARKERS) {
      assert.ok(m.activationEvents.includes(`workspaceContains:${marker}`), marker);
    }
    for (const filter of logic.documentSelector()) {
      assert.ok(m.activationEvents.includes(`onLanguage:${filter.language}`), filter.language);
    }
    assert.ok(!m.activationEvents.includes('*') && !m.activationEvents.includes('onStartupFinished'));
  });

  it('is packaged: a bundle as main, an icon, a LICENSE, a repository', () => {
    const pkg = m as unknown as Record<string, unknown>;
    assert.equal(m.main, './dist/extension.js');
    assert.ok(fs.existsSync(path.join(EXTENSION_ROOT, String(pkg['icon']))), 'icon');
    assert.ok(fs.existsSync(path.join(EXTENSION_ROOT, 'LICENSE')), 'LICENSE');
    assert.equal((pkg['repository'] as { directory?: string } | undefined)?.directory, 'editor-clients/vscode');
    assert.equal(pkg['private'], undefined, 'vsce refuses nothing, the marketplace needs it public');
  });

  it('contributes titled commands that do not clash with the server commands', () => {
    const ids = m.contributes.commands.map((c) => c.command);
    assert.deepEqual(ids, ['verm.pinCurrentRender', 'verm.reviseToMatchReference', 'verm.openVisualDiff',
      'verm.restartServer', 'verm.showLogs', 'verm.installServer']);
    for (const id of Object.values(STATUS_COMMANDS)) {
      assert.ok(ids.includes(id), `the status item's ${id} is contributed`);
    }
    assert.ok(m.contributes.commands.every((c) => c.title.length > 0));
    for (const serverCommand of Object.values(logic.SERVER_COMMANDS)) {
      assert.ok(!ids.includes(serverCommand), serverCommand);
    }
  });

  it('is limited in untrusted workspaces, which cannot pick the server command', () => {
    const trust = m.capabilities.untrustedWorkspaces;
    assert.equal(trust.supported, 'limited');
    assert.ok(trust.restrictedConfigurations?.includes('verm.server.command'));
  });

  it('lets no workspace settings file, trusted or not, pick a program or raise a limit', () => {
    // VS Code ignores a machine-scoped setting in .vscode/settings.json: only the user sets it.
    const props = m.contributes.configuration.properties;
    for (const key of ['verm.server.command', 'verm.chromium', 'verm.timeout', 'verm.maxFileMB',
      'verm.watchFolders', ...MODEL_KEYS.map((k) => `verm.${k}`)]) {
      assert.equal(props[key]?.scope, 'machine', key);
    }
    // A workspace may choose which critic judges, not which model, server or GPU.
    assert.equal(props['verm.critic']?.scope, undefined);
  });

  it('contributes every model and policy setting as a user-only setting, unset by default', () => {
    const trust = m.capabilities.untrustedWorkspaces;
    for (const key of MODEL_KEYS) {
      const schema = props[`verm.${key}`];
      assert.ok(schema, key);
      assert.ok(Array.isArray(schema.type) && schema.type.includes('null'), `${key}: type admits null`);
      assert.equal(schema.default, null, `${key}: default`);
      assert.match(schema.markdownDescription ?? '', /Only your user settings can set it/, `${key}: description`);
      assert.ok(trust.restrictedConfigurations?.includes(`verm.${key}`), `${key}: restricted`);
    }
    // Every editor name the server maps to a model or policy setting has one (`model` is the
    // server's alias of `modelPath`).
    const py = fs.readFileSync(path.join(EXTENSION_ROOT, '..', '..', 'server', 'verm', 'lsp', 'settings.py'), 'utf8');
    const table = /MODEL_SETTINGS = \{([^}]*)\}/.exec(py)?.[1] ?? '';
    const serverKeys = [...table.matchAll(/"(\w+)":/g)].map((x) => x[1] ?? '').filter((k) => k !== 'model');
    assert.ok(serverKeys.length >= 20, 'MODEL_SETTINGS found in server/verm/lsp/settings.py');
    for (const key of serverKeys) {
      assert.equal(props[`verm.${key}`]?.scope, 'machine', `server setting ${key}`);
    }
  });
});
