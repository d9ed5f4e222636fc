// The language status item: each state the server can be in, and the transitions between.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMMANDS, INITIAL, statusView, withStatus, type ServerState } from '../statusView';

describe('statusView', () => {
  it('walks starting → judging → model loading → ready with the reward → crashed', () => {
    let s: ServerState = INITIAL;
    assert.deepEqual([statusView(s).text, statusView(s).busy], ['verm: starting', true]);
    s = { ...s, phase: 'running' };
    assert.equal(statusView(s).text, 'verm: ready');
    s = withStatus(s, { judging: 2, model: null });
    assert.deepEqual([statusView(s).text, statusView(s).busy], ['verm: judging 2 files', true]);
    s = withStatus(s, { judging: 1, model: { state: 'loading', message: 'loading weights', percentage: 40 } });
    assert.equal(statusView(s).text, 'verm: loading model 40%', 'loading outranks judging');
    assert.equal(statusView(s).detail, 'loading weights');
    s = withStatus(s, { judging: 0, model: { state: 'ready', message: 'model ready', percentage: 100 } });
    s = { ...s, active: { reward: 1.92, discrepancies: 2 } };
    const ready = statusView(s);
    assert.deepEqual([ready.text, ready.detail, ready.busy], ['verm: 1.92', 'reward 1.92 of 2.00, 2 discrepancies', false]);
    assert.equal(ready.command?.command, COMMANDS.diff);
    s = { ...s, phase: 'crashed' };
    const crashed = statusView(s);
    assert.deepEqual([crashed.text, crashed.severity, crashed.command?.command], ['verm: crashed', 'error', COMMANDS.restart]);
  });

  it('says when verm is missing, and a failed model as a warning', () => {
    assert.equal(statusView({ ...INITIAL, phase: 'missing' }).command?.command, COMMANDS.install);
    const failed = withStatus({ ...INITIAL, phase: 'running' },
      { judging: 0, model: { state: 'failed', message: 'no GPU', percentage: null } });
    assert.deepEqual([statusView(failed).severity, statusView(failed).detail], ['warning', 'ready (model: no GPU)']);
  });

  it('ignores malformed status notifications', () => {
    const s = { ...INITIAL, phase: 'running' as const, judging: 1 };
    assert.deepEqual(withStatus(s, null), s);
    assert.deepEqual(withStatus(s, { judging: -3, model: { state: 'bogus' } }), s);
  });
});
