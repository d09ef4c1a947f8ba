import { describe, expect, it } from 'vitest';
import { describeConnectionState, type ConnectionStateFacts } from '../../src/connection/state.js';

const base: ConnectionStateFacts = {
  id: 'h:1#7',
  state: 'broken',
  phase: undefined,
  closing: false,
  attempt: 3,
  connectionAttempts: 3,
  reconnect: true,
  retryIn: undefined,
  lastError: new Error('connect ECONNREFUSED'),
};

describe('describeConnectionState', () => {
  it('says what each state will lead to', () => {
    expect(describeConnectionState({ ...base, state: 'idle', attempt: 0, lastError: undefined })).toBe(
      'connection h:1#7 was never asked to connect (connect() was not called)',
    );
    expect(describeConnectionState({ ...base, state: 'connecting', attempt: 2 })).toBe('connection h:1#7 is connecting (attempt 2 of 3)');
    expect(describeConnectionState({ ...base, state: 'connected' })).toBe('connection h:1#7 is connected');
    expect(describeConnectionState({ ...base, phase: 'waiting', attempt: 1, retryIn: 199.6 })).toBe(
      'connection h:1#7 is waiting to retry (last error: connect ECONNREFUSED): attempt 2 of 3 starts in ~200 ms',
    );
    expect(describeConnectionState({ ...base, phase: 'resting', retryIn: 8_421.2 })).toBe(
      'connection h:1#7 is resting after 3 failed attempts (last error: connect ECONNREFUSED) and retries in ~8421 ms',
    );
    expect(describeConnectionState({ ...base, phase: 'failed', reconnect: false })).toBe(
      'connection h:1#7 gave up after 3 failed attempts (last error: connect ECONNREFUSED) and does not reconnect by itself (reconnect: false); call connect() or tryReconnect()',
    );
    expect(describeConnectionState({ ...base, phase: 'failed', reconnect: false, attempt: 1 })).toBe(
      'connection h:1#7 broke (last error: connect ECONNREFUSED) and does not reconnect by itself (reconnect: false); call connect() or tryReconnect()',
    );
    expect(describeConnectionState({ ...base, phase: 'resting', closing: true })).toBe('connection h:1#7 is closing');
    expect(describeConnectionState({ ...base, state: 'closed', closing: true })).toBe('connection h:1#7 is closed');
  });

  it('counts one failed attempt in the singular', () => {
    expect(describeConnectionState({ ...base, phase: 'resting', attempt: 1, connectionAttempts: 1, retryIn: 5, lastError: undefined })).toBe(
      'connection h:1#7 is resting after 1 failed attempt and retries in ~5 ms',
    );
  });
});
