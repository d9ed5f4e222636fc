// Whether verm is used in a window: only then does a server start.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as a from '../activation';

const none = { markerFiles: false, pyprojects: [], openTexts: [] };

describe('vermUsed', () => {
  it('is used with a verm.toml or a pinned reference', () => {
    assert.ok(a.vermUsed({ ...none, markerFiles: true }));
  });

  it('is used with [tool.verm] in a pyproject.toml, not with any pyproject', () => {
    assert.ok(a.vermUsed({ ...none, pyprojects: ['[project]\nname = "x"\n\n[tool.verm]\ncritic = "analytic"\n'] }));
    assert.ok(a.vermUsed({ ...none, pyprojects: ['[tool.verm.sources]\n"*.py" = "ref.png"\n'] }));
    assert.equal(a.vermUsed({ ...none, pyprojects: ['[project]\nname = "x"\n[tool.ruff]\n# [tool.verm] is not here\n'] }),
      undefined);
  });

  it('is used when an open file carries a pragma near its top', () => {
    assert.ok(a.vermUsed({ ...none, openTexts: ['import x\n# verm: reference=design/sales.png\n'] }));
    assert.ok(a.hasPragma('<!-- verm: reference=page.png -->\n<html>'));
    assert.ok(!a.hasPragma('print("verm: is a word")\n'));
    assert.ok(!a.hasPragma(`${'x\n'.repeat(100)}# verm: reference=late.png\n`), 'only the top is read');
  });

  it('is not used in a plain Python or Markdown workspace: no server, no message', () => {
    assert.equal(a.vermUsed({ markerFiles: false, pyprojects: ['[project]\n'], openTexts: ['# Title\n', 'import os\n'] }),
      undefined);
  });
});
