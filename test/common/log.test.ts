// The logger (main/common/log.ts): a line that cannot be written is lost, never an error for the caller
// (a KMS call or a stop in progress must not fail because the log's stream did).
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../main/common/log.js';

describe('createLogger', () => {
  it('never throws when its write does', () => {
    const log = createLogger('debug', () => {
      throw Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    });
    expect(() => log.error('a failure', { code: 'X' })).not.toThrow();
    expect(() => log.info('a call')).not.toThrow();
  });
});
