/**
 * Unit tests of the pure helpers (node's test runner, no browser):
 *   jlpm test
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  badgeText,
  checkParameter,
  eventLine,
  foldLines,
  runDiffText,
  firstLine,
  formatDuration,
  formatValue,
  metricChartSpec,
  notebookServerPath,
  orderByString,
  qualifiedKey,
  samePath,
  toggleSort
} from '../utils';

describe('qualifiedKey', () => {
  it('leaves plain keys bare', () => {
    assert.equal(qualifiedKey('metrics', 'acc'), 'metrics.acc');
    assert.equal(qualifiedKey('params', 'lr_2'), 'params.lr_2');
  });
  it('back-ticks keys with odd characters', () => {
    assert.equal(qualifiedKey('metrics', 'val/loss'), 'metrics.`val/loss`');
    assert.equal(qualifiedKey('metrics', '1st'), 'metrics.`1st`');
    assert.equal(qualifiedKey('tags', 'a`b'), 'tags.`a``b`');
  });
});

describe('sorting', () => {
  it('starts text columns ascending and others descending', () => {
    assert.deepEqual(toggleSort(null, 'name'), { key: 'name', desc: false });
    assert.deepEqual(toggleSort(null, 'start_time'), {
      key: 'start_time',
      desc: true
    });
    assert.deepEqual(toggleSort(null, 'metrics.acc'), {
      key: 'metrics.acc',
      desc: true
    });
  });
  it('flips on a second click and resets on another column', () => {
    const first = toggleSort(null, 'metrics.acc');
    assert.deepEqual(toggleSort(first, 'metrics.acc'), {
      key: 'metrics.acc',
      desc: false
    });
    assert.deepEqual(toggleSort(first, 'duration'), {
      key: 'duration',
      desc: true
    });
  });
  it('renders order_by', () => {
    assert.equal(orderByString(null), '');
    assert.equal(orderByString({ key: 'name', desc: false }), 'name ASC');
    assert.equal(
      orderByString({ key: 'metrics.`val/loss`', desc: true }),
      'metrics.`val/loss` DESC'
    );
  });
});

describe('formatting', () => {
  it('formats values compactly', () => {
    assert.equal(formatValue(0.93456), '0.9346');
    assert.equal(formatValue(12), '12');
    assert.equal(formatValue(1.5e-5), '1.50e-5');
    assert.equal(formatValue('0.1'), '0.1');
    assert.equal(formatValue(null), '');
    assert.equal(formatValue({ a: [1] }), '{"a":[1]}');
    assert.equal(formatValue(NaN), 'NaN');
  });
  it('formats durations', () => {
    assert.equal(formatDuration(null), '');
    assert.equal(formatDuration(0.25), '250 ms');
    assert.equal(formatDuration(12.34), '12.3 s');
    assert.equal(formatDuration(185), '3m 05s');
    assert.equal(formatDuration(3720), '1h 02m');
  });
  it('takes the first non-blank line of a source', () => {
    assert.equal(firstLine('\n\n  x = 1\ny = 2'), 'x = 1');
    assert.equal(firstLine(null), '');
    assert.equal(firstLine('a'.repeat(100), 10), `${'a'.repeat(9)}…`);
  });
  it('builds badge text from metrics, sorted, capped', () => {
    assert.equal(badgeText({ loss: 0.12, acc: 0.93 }), 'acc 0.93 · loss 0.12');
    assert.equal(badgeText({ a: 1, b: 2, c: 3, d: 4 }, 2), 'a 1 · b 2 · +2');
    assert.equal(badgeText({}), '');
    assert.equal(badgeText(undefined), '');
  });
});

describe('notebookServerPath', () => {
  it('maps project-relative paths under the server root', () => {
    assert.equal(
      notebookServerPath('nb/train.ipynb', '/srv/work/proj', '/srv/work'),
      'proj/nb/train.ipynb'
    );
    assert.equal(
      notebookServerPath('train.ipynb', '/srv/work', '/srv/work/'),
      'train.ipynb'
    );
  });
  it('maps absolute paths and refuses those outside the root', () => {
    assert.equal(
      notebookServerPath('/srv/work/a/b.ipynb', '/elsewhere', '/srv/work'),
      'a/b.ipynb'
    );
    assert.equal(notebookServerPath('/etc/x.ipynb', '/srv', '/srv/work'), null);
    assert.equal(
      notebookServerPath('x.ipynb', '/srv/workshop', '/srv/work'),
      null
    );
  });
  it('assumes equal roots when they are unknown', () => {
    assert.equal(notebookServerPath('./a.ipynb', null, null), 'a.ipynb');
    assert.equal(notebookServerPath(null, '/a', '/a'), null);
  });
  it('compares paths loosely', () => {
    assert.ok(samePath('./a/b.ipynb', 'a/b.ipynb'));
    assert.ok(!samePath('a/b.ipynb', 'a/c.ipynb'));
  });
});

describe('metricChartSpec', () => {
  it('is a Vega-Lite line over steps, index when steps are missing', () => {
    const spec = metricChartSpec('loss', [
      { step: null, value: 3 },
      { step: null, value: 2 }
    ]) as any;
    assert.match(spec.$schema, /vega-lite\/v5/);
    assert.equal(spec.mark.type, 'line');
    assert.deepEqual(spec.data.values, [
      { step: 0, value: 3 },
      { step: 1, value: 2 }
    ]);
    assert.equal(spec.encoding.y.title, 'loss');
  });
});

describe('eventLine', () => {
  it('turns pipeline events into log lines and skips the plan', () => {
    assert.equal(eventLine({ event: 'plan', stages: [] }), null);
    assert.equal(eventLine({ event: 'stage-start', stage: 'prep', reasons: ['never run'] }), '▶ prep (never run)');
    assert.equal(
      eventLine({ event: 'cell', stage: 'prep', number: 2, total: 3, status: 'ok', duration: 0.5 }),
      '  prep: cell 2/3 ok in 0.50s'
    );
    assert.equal(eventLine({ event: 'stage-failed', stage: 'x', error: 'ZeroDivisionError' }), '✗ x failed: ZeroDivisionError');
    assert.equal(eventLine({ event: 'output', stage: 's', text: 'hi\n' }), '  s: hi');
    assert.equal(eventLine({ event: 'output', stage: 's' }), null);
    assert.equal(eventLine({ event: 'something-new' }), null);
  });
});

describe('checkParameter', () => {
  const p = (type: string, required = false) => ({
    name: 'x', type, default: required ? null : '1', value: 1, required, comment: ''
  });
  it('checks ints, floats and bools; leaves other types to the server', () => {
    assert.equal(checkParameter(p('int'), ' 3 '), null);
    assert.equal(checkParameter(p('int'), '3.5'), 'must be an integer');
    assert.equal(checkParameter(p('float'), '1e-3'), null);
    assert.equal(checkParameter(p('float'), '-.5'), null);
    assert.equal(checkParameter(p('float'), 'fast'), 'must be a number');
    assert.equal(checkParameter(p('bool'), 'True'), null);
    assert.equal(checkParameter(p('bool'), 'yes'), 'must be true or false');
    assert.equal(checkParameter(p('list[int]'), 'anything'), null);
  });
  it('requires a value only for parameters without a default', () => {
    assert.equal(checkParameter(p('int', true), '  '), 'required');
    assert.equal(checkParameter(p('int'), ''), null);
  });
});

describe('runDiffText', () => {
  it('lists the changed rows as a → b', () => {
    assert.equal(
      runDiffText([
        { key: 'lr', a: 0.1, b: 0.2, changed: true },
        { key: 'epochs', a: 5, b: 5, changed: false },
        { key: 'accuracy', a: 0.91, b: null, changed: true },
        { key: 'opt', a: 'sgd', b: 'adam', changed: true }
      ]),
      'lr 0.1 → 0.2, accuracy 0.91 → —, opt sgd → adam'
    );
    assert.equal(runDiffText([]), '');
  });
});

describe('foldLines', () => {
  it('keeps changes with context and folds long unchanged stretches', () => {
    const lines: [string, string][] = [];
    for (let i = 0; i < 10; i++) {
      lines.push([' ', `l${i}`]);
    }
    lines[5] = ['-', 'old'];
    lines.splice(6, 0, ['+', 'new']);
    const out = foldLines(lines, 1);
    assert.deepEqual(out, [{ folded: 4 }, [' ', 'l4'], ['-', 'old'], ['+', 'new'], [' ', 'l6'], { folded: 3 }]);
  });
  it('folds everything when nothing changed', () => {
    assert.deepEqual(foldLines([[' ', 'a'], [' ', 'b']]), [{ folded: 2 }]);
  });
});
