import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ToolSpecSchema, resultLabels } from './tools.js';

describe('result labels', () => {
  const tool = ToolSpecSchema.parse({
    name: 'files.read',
    kind: 'read',
    labels: ['internal'],
    labelRules: [
      { arg: 'path', prefix: '/srv/hr/', labels: ['confidential', 'pii'] },
      { arg: 'bucket', equals: 'secrets', labels: ['secret'] },
    ],
  });

  it('the tool’s own labels, plus those of every rule the arguments match', () => {
    assert.deepEqual(resultLabels(tool, { path: '/srv/public/a' }), ['internal']);
    assert.deepEqual(resultLabels(tool, { path: '/srv/hr/salaries.csv' }).sort(), ['confidential', 'internal', 'pii']);
    assert.deepEqual(resultLabels(tool, { path: '/srv/public/a', bucket: 'secrets' }).sort(), ['internal', 'secret']);
  });

  it('a `..` that could step into the labelled tree counts as inside it; non-strings match nothing', () => {
    assert.deepEqual(resultLabels(tool, { path: '/srv/public/../hr/salaries.csv' }).sort(), ['confidential', 'internal', 'pii']);
    assert.deepEqual(resultLabels(tool, { path: 42 }), ['internal']);
    assert.deepEqual(resultLabels(undefined, { path: '/srv/hr/x' }), []);
  });

  it('a rule needs prefix or equals', () => {
    assert.equal(ToolSpecSchema.safeParse({ name: 'a.b', kind: 'read', labelRules: [{ arg: 'path', labels: ['x'] }] }).success, false);
  });
});
