import { describe, expect, it } from 'vitest';
import type { ConnectionStateChange } from '../../src/connection/state.js';
import { ConnectError, ConnectionClosedError, ConnectionError } from '../../src/errors.js';
import { FakeConnection } from '../../src/testing/fake-connection.js';

function transitions(changes: readonly ConnectionStateChange[]): string[] {
  return changes.map((change) => `${change.from}->${change.to}`);
}

describe('FakeConnection', () => {
  it('has unique readable ids unless given one', () => {
    const a = new FakeConnection();
    const b = new FakeConnection();
    expect(a.id).toMatch(/^fake-\d+$/);
    expect(b.id).not.toBe(a.id);
    expect(new FakeConnection({ id: 'mine' }).id).toBe('mine');
  });

  it('connects on the next microtask by default, emitting every change', async () => {
    const connection = new FakeConnection();
    const seen: ConnectionStateChange[] = [];
    connection.subscribe((change) => seen.push(change));
    const connecting = connection.connect();
    expect(connection.state).toBe('connecting');
    await connecting;
    expect(connection.isConnected()).toBe(true);
    expect(transitions(seen)).toEqual(['idle->connecting', 'connecting->connected']);
    expect(connection.changes).toEqual(seen);
    expect(connection.connectCalls).toBe(1);
    await connection.connect();
    expect(connection.changes).toHaveLength(2);
  });

  it('follows the planned outcomes, then connectOutcome', async () => {
    const connection = new FakeConnection({ connectOutcomes: ['fail'], connectOutcome: 'succeed' });
    await expect(connection.connect()).rejects.toBeInstanceOf(ConnectError);
    expect(connection.state).toBe('broken');
    expect(connection.changes.at(-1)?.error).toBeInstanceOf(ConnectError);
    await expect(connection.tryReconnect()).resolves.toBe(true);
  });

  it('hangs until the test resolves or fails the attempt', async () => {
    const connection = new FakeConnection({ connectOutcome: 'hang' });
    const first = connection.connect();
    expect(connection.connect()).toBe(first);
    expect(connection.hasConnectInFlight).toBe(true);
    connection.failConnect(new Error('refused'));
    await expect(first).rejects.toThrow('refused');
    const second = connection.tryReconnect();
    connection.resolveConnect();
    await expect(second).resolves.toBe(true);
    expect(() => connection.resolveConnect()).toThrow(/no connect attempt/);
  });

  it('drop breaks a connected fake and rejects its requests', async () => {
    const connection = new FakeConnection({ state: 'connected' });
    const request = connection.send();
    connection.drop();
    expect(connection.state).toBe('broken');
    expect(connection.pendingRequests).toBe(0);
    await expect(request).rejects.toBeInstanceOf(ConnectionError);
    expect(() => connection.drop()).toThrow(/not connected/);
  });

  it('counts pending requests and settles them in order', async () => {
    const connection = new FakeConnection({ state: 'connected' });
    const first = connection.send();
    connection.addPending(2);
    expect(connection.pendingRequests).toBe(3);
    connection.finishPending();
    await expect(first).resolves.toBeUndefined();
    expect(connection.pendingRequests).toBe(2);
    expect(() => connection.finishPending(3)).toThrow(RangeError);
    connection.finishPending(2);
    expect(connection.pendingRequests).toBe(0);
  });

  it('close is final and idempotent; force rejects pending requests', async () => {
    const connection = new FakeConnection({ state: 'connected' });
    const request = connection.send();
    const closing = connection.close({ force: true });
    expect(connection.close()).toBe(closing);
    await closing;
    await expect(request).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(connection.state).toBe('closed');
    expect(connection.closeCalls).toEqual([{ force: true }, undefined]);
    expect(transitions(connection.changes)).toEqual(['connected->closed']);
    await expect(connection.connect()).rejects.toBeInstanceOf(ConnectionClosedError);
    await expect(connection.tryReconnect()).resolves.toBe(false);
    await expect(connection.send()).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(() => connection.addPending()).toThrow(/closed/);
  });

  it('close during a connect rejects the attempt', async () => {
    const connection = new FakeConnection({ connectOutcome: 'hang' });
    const attempt = connection.connect();
    const reconnect = connection.tryReconnect();
    await connection.close();
    await expect(attempt).rejects.toBeInstanceOf(ConnectionClosedError);
    await expect(reconnect).resolves.toBe(false);
    expect(connection.hasConnectInFlight).toBe(false);
  });

  it('a graceful close lets requests finish until its timeout', async () => {
    const connection = new FakeConnection({ state: 'connected', closeTimeout: 60_000 });
    const request = connection.send();
    let closed = false;
    const closing = connection.close().then(() => (closed = true));
    await Promise.resolve();
    expect(closed).toBe(false);
    connection.finishPending();
    await closing;
    await expect(request).resolves.toBeUndefined();

    const late = new FakeConnection({ state: 'connected' });
    const lateRequest = late.send();
    await late.close({ timeout: 5 });
    await expect(lateRequest).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  it('a tryReconnect from connected goes through connecting again', async () => {
    const connection = new FakeConnection({ state: 'connected' });
    await expect(connection.tryReconnect()).resolves.toBe(true);
    expect(transitions(connection.changes)).toEqual(['connected->connecting', 'connecting->connected']);
  });
});
