// Test support: the extension manifest, and the `verm` section as VS Code would report it.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const EXTENSION_ROOT = path.join(__dirname, '..', '..');

export interface SettingSchema {
  readonly type?: string | string[];
  readonly default?: unknown;
  readonly enum?: unknown[];
  readonly description?: string;
  readonly markdownDescription?: string;
  readonly scope?: string;
}

export interface Manifest {
  readonly main: string;
  readonly activationEvents: string[];
  readonly capabilities: { readonly untrustedWorkspaces: { readonly supported: string | boolean; readonly restrictedConfigurations?: string[] } };
  readonly contributes: {
    readonly commands: ReadonlyArray<{ readonly command: string; readonly title: string }>;
    readonly configuration: { readonly properties: Record<string, SettingSchema> };
  };
}

export function manifest(): Manifest {
  return JSON.parse(fs.readFileSync(path.join(EXTENSION_ROOT, 'package.json'), 'utf8')) as Manifest;
}

/** `workspace.getConfiguration().get('verm')` with every setting at its default. */
export function defaultSection(m: Manifest = manifest()): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(m.contributes.configuration.properties)) {
    const parts = key.split('.').slice(1);
    let node = root;
    for (const part of parts.slice(0, -1)) {
      node = (node[part] ??= {}) as Record<string, unknown>;
    }
    node[parts[parts.length - 1] ?? ''] = schema.default ?? null;
  }
  return root;
}
