// Bundle the extension (one file, vscode external) and copy the shared viewer into dist/viewer:
// the same viewer.js/css/html that the Python package ships for the static report.
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const production = process.argv.includes('--production');
const viewer = path.join(here, '..', '..', 'server', 'verm', 'viewer');
const out = path.join(here, 'dist');

await esbuild.build({
  entryPoints: [path.join(here, 'src', 'extension.ts')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode'],
  outfile: path.join(out, 'extension.js'),
  minify: production,
  sourcemap: !production,
  logLevel: 'warning',
});
fs.mkdirSync(path.join(out, 'viewer'), { recursive: true });
for (const asset of ['viewer.js', 'viewer.css', 'viewer.html']) {
  fs.copyFileSync(path.join(viewer, asset), path.join(out, 'viewer', asset));
}
