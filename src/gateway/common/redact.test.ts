import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactResult } from './redact.js';

describe('redact obligation', () => {
  it('masks named fields at any depth, inside JSON text too, and counts them', () => {
    const { result, count } = redactResult(
      {
        content: [{ type: 'text', text: '{"name":"Ada","email":"ada@example.com","nested":[{"phone":"1"}]}' }, { type: 'image', data: 'xx' }],
        structuredContent: { email: 'ada@example.com' },
      },
      ['email', 'phone'],
    );
    assert.equal(count, 3);
    assert.deepEqual(result.content[0], { type: 'text', text: '{"name":"Ada","email":"[redacted]","nested":[{"phone":"[redacted]"}]}' });
    assert.deepEqual(result.content[1], { type: 'image', data: 'xx' });
    assert.deepEqual(result.structuredContent, { email: '[redacted]' });
  });

  it('withholds text it cannot parse rather than pass it on unredacted', () => {
    const { result } = redactResult({ contents: [{ uri: 'x://1', text: 'Ada <ada@example.com>' }] }, ['email']);
    assert.doesNotMatch(JSON.stringify(result), /ada@example\.com/);
    assert.match(result.contents[0]!.text, /withheld/);
  });

  it('no obligation, no change', () => {
    const input = { content: [{ type: 'text', text: 'free text' }] };
    assert.equal(redactResult(input, []).result, input);
  });
});
