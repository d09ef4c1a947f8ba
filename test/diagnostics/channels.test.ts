/**
 * The `node:diagnostics_channel` channels (src/connection/diagnostics.ts),
 * subscribed to as an APM tool would, by name, against the embedded server:
 *
 * - `zcached:command` (a TracingChannel): the context of each command (name,
 *   key count, server, connection id) and its outcome through the standard
 *   events, for replies, error replies, timeouts and refused arguments;
 * - `zcached:connection:state`: every lifecycle change, with the error and
 *   the wait on a break;
 * - nobody subscribed: `tracePromise` is not called, no context is built.
 */
import * as dc from 'node:diagnostics_channel';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Connection } from '../../src/connection/connection.js';
import {
  COMMAND_CHANNEL,
  CONNECTION_STATE_CHANNEL,
  commandChannel,
  isTracingCommands,
  keyCount,
  NOT_FOUND_RESULT,
  type CommandTraceContext,
  type ConnectionStateMessage,
} from '../../src/connection/diagnostics.js';
import { ConnectionError, DialectError, ServerError, TimeoutError } from '../../src/errors.js';
import { serversAndClients } from '../servers-and-clients.js';
import { deferredCleanup, until, watchUnhandledRejections } from '../support.js';

const cleanup = deferredCleanup();
const unhandled = watchUnhandledRejections();

const { server, client } = serversAndClients(cleanup, { faithful: false });

type TraceEvent = 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error';

interface Seen {
  readonly event: TraceEvent;
  readonly context: CommandTraceContext;
  /** The fields as they were when the event was published (the context object is shared and grows). */
  readonly snapshot: Record<string, unknown>;
}

/** Subscribes to every event of `tracing:zcached:command:*` by name, as a tool that never imports zcached would. */
function traceCommands(): Seen[] {
  const seen: Seen[] = [];
  const tracing = dc.tracingChannel<unknown, CommandTraceContext>('zcached:command');
  const on = (event: TraceEvent) => (message: unknown) => {
    const context = message as CommandTraceContext;
    seen.push({ event, context, snapshot: { ...context } });
  };
  const handlers = { start: on('start'), end: on('end'), asyncStart: on('asyncStart'), asyncEnd: on('asyncEnd'), error: on('error') };
  tracing.subscribe(handlers);
  cleanup.push(async () => tracing.unsubscribe(handlers));
  return seen;
}

/** The traced commands, in order of their start, each with the events it got. */
function byCommand(seen: readonly Seen[]): { context: CommandTraceContext; events: TraceEvent[] }[] {
  const commands = new Map<CommandTraceContext, TraceEvent[]>();
  for (const { event, context } of seen) {
    const events = commands.get(context) ?? [];
    events.push(event);
    commands.set(context, events);
  }
  return [...commands].map(([context, events]) => ({ context, events }));
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('zcached:command', () => {
  it('the channel names', () => {
    expect(COMMAND_CHANNEL).toBe('zcached:command');
    expect(CONNECTION_STATE_CHANNEL).toBe('zcached:connection:state');
  });

  it('each command: start and end around the call, asyncStart and asyncEnd with the reply, one context with name, key count, server and connection', async () => {
    const up = await server();
    const c = client({ port: up.port });
    await c.run();
    const seen = traceCommands();
    expect(await c.set('k1', 'v1')).toBe('OK');
    expect(await c.get('k1')).toBe('v1');
    expect(await c.mset({ a: '1', b: '2' })).toBe('OK');
    await c.mget('a', 'b', 'k1');
    expect(await c.ping()).toBe('PONG');
    expect(await c.sendCommand(['get', 'k1'])).toBe('v1');

    const connectionId = c.connectionPool.connections[0]!.id;
    const commands = byCommand(seen);
    expect(commands.map(({ context }) => [context.command, context.keyCount])).toEqual([
      ['SET', 1],
      ['GET', 1],
      ['MSET', 2],
      ['MGET', 3],
      ['PING', 0],
      ['GET', 1],
    ]);
    for (const { context, events } of commands) {
      expect(events).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
      expect(context).toMatchObject({ serverAddress: '127.0.0.1', serverPort: up.port, connectionId });
    }
    // The reply is there from asyncStart on, not before; no error on success.
    const set = seen.filter((s) => s.context === commands[0]!.context);
    expect(set.map((s) => s.snapshot['result'])).toEqual([undefined, undefined, 'OK', 'OK']);
    expect(set.every((s) => !('error' in s.snapshot))).toBe(true);
    expect(commands[1]!.context.result).toBe('v1');
    expect(commands[0]!.context).toEqual({ command: 'SET', keyCount: 1, serverAddress: '127.0.0.1', serverPort: up.port, connectionId, result: 'OK' });
    expect(unhandled).toEqual([]);
  });

  it('an error reply: error, then asyncStart and asyncEnd, with the ServerError', async () => {
    const up = await server();
    const c = client({ port: up.port });
    await c.run();
    const seen = traceCommands();
    const failure = await c.rename('missing', 'other').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ServerError);
    const [rename] = byCommand(seen);
    expect(rename?.context.command).toBe('RENAME');
    expect(rename?.context.keyCount).toBe(2);
    expect(rename?.events).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
    expect(rename?.context.error).toBe(failure);
    expect('result' in rename!.context).toBe(false);
  });

  it('a GET or DELETE of a missing key is a result, not an error: { notFound: true }; the caller still gets undefined / false, and a raw GET still rejects', async () => {
    const up = await server();
    const c = client({ port: up.port });
    await c.run();
    const seen = traceCommands();
    expect(await c.get('missing')).toBeUndefined();
    expect(await c.delete('missing')).toBe(false);
    expect(await c.exists('missing')).toBe(false);
    const raw = await c.sendCommand(['get', 'missing']).catch((error: unknown) => error);
    expect(raw).toBeInstanceOf(ServerError);
    expect((raw as ServerError).message).toBe("'missing' not found");
    // A found key and another error reply are traced as before.
    await c.set('here', 'v');
    expect(await c.delete('here')).toBe(true);
    const sizeof = await c.sizeof('missing').catch((error: unknown) => error);
    expect(sizeof).toBeInstanceOf(ServerError);

    const commands = byCommand(seen);
    expect(commands.map(({ context }) => context.command)).toEqual(['GET', 'DELETE', 'GET', 'GET', 'SET', 'DELETE', 'SIZEOF']);
    for (const { context, events } of commands.slice(0, 4)) {
      expect(events).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
      expect(context.result).toEqual({ notFound: true });
      expect(context.result).toBe(NOT_FOUND_RESULT);
      expect('error' in context).toBe(false);
    }
    expect(commands[5]).toMatchObject({ events: ['start', 'end', 'asyncStart', 'asyncEnd'], context: { result: 'OK' } });
    expect(commands[6]).toMatchObject({ events: ['start', 'end', 'error', 'asyncStart', 'asyncEnd'], context: { error: sizeof } });
    // The trace is over before the caller goes on, as for every traced command.
    let ended = false;
    const asyncEnd = (): void => {
      ended = true;
    };
    dc.subscribe('tracing:zcached:command:asyncEnd', asyncEnd);
    try {
      expect(await c.get('missing')).toBeUndefined();
      expect(ended).toBe(true);
    } finally {
      dc.unsubscribe('tracing:zcached:command:asyncEnd', asyncEnd);
    }
    expect(unhandled).toEqual([]);
  });

  it('a timeout: the TimeoutError the caller gets', async () => {
    const up = await server();
    const c = client({ port: up.port });
    await c.run();
    const seen = traceCommands();
    up.stopAnswering();
    const failure = await c.get('slow', { timeout: 50 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TimeoutError);
    await until(() => byCommand(seen)[0]?.events.length === 5);
    const [get] = byCommand(seen);
    expect(get?.events).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
    expect(get?.context.error).toBe(failure);
    up.resumeAnswering();
  });

  it('arguments refused at once: start, error, end, and the caller still gets the throw', async () => {
    const up = await server();
    const c = client({ port: up.port });
    await c.run();
    const seen = traceCommands();
    expect(() => c.set('bad\nkey', 'v')).toThrow(DialectError);
    const [set] = byCommand(seen);
    expect(set?.events).toEqual(['start', 'error', 'end']);
    expect(set?.context.error).toBeInstanceOf(DialectError);
  });

  it('a command on a broken connection: the ConnectionError it rejects with', async () => {
    const up = await server();
    const connection = new Connection({ host: '127.0.0.1', port: up.port, backoff: { initial: 5_000, max: 5_000 } });
    cleanup.push(() => connection.close({ force: true }));
    await connection.connect();
    const seen = traceCommands();
    up.stopAnswering();
    const pending = connection.send(['GET', 'k']).catch((error: unknown) => error);
    await until(() => connection.requestsOnTheWire === 1);
    await up.waitForConnections(1);
    up.dropConnections();
    const failure = await pending;
    expect(failure).toBeInstanceOf(ConnectionError);
    await until(() => byCommand(seen)[0]?.events.length === 5);
    expect(byCommand(seen)[0]?.context).toMatchObject({ command: 'GET', connectionId: connection.id, error: failure });
  });

  it('nobody subscribed: tracePromise is never called and no context is made; a subscriber turns it on, unsubscribing off again', async () => {
    const up = await server();
    const c = client({ port: up.port });
    await c.run();
    const trace = vi.spyOn(commandChannel, 'tracePromise');
    expect(isTracingCommands()).toBe(false);
    await c.set('k', 'v');
    await c.get('k');
    expect(trace).not.toHaveBeenCalled();

    // Any one of the five events is enough.
    const onAsyncEnd = (): void => undefined;
    dc.channel('tracing:zcached:command:asyncEnd').subscribe(onAsyncEnd);
    try {
      expect(isTracingCommands()).toBe(true);
      await c.get('k');
      expect(trace).toHaveBeenCalledTimes(1);
    } finally {
      dc.channel('tracing:zcached:command:asyncEnd').unsubscribe(onAsyncEnd);
    }
    expect(isTracingCommands()).toBe(false);
    await c.get('k');
    expect(trace).toHaveBeenCalledTimes(1);
  });

  it('keyCount per command', () => {
    expect(keyCount('GET', ['GET', 'k'])).toBe(1);
    expect(keyCount('SET', ['SET', 'k', 'v'])).toBe(1);
    expect(keyCount('DELETE', ['DELETE', 'k'])).toBe(1);
    expect(keyCount('SIZEOF', ['SIZEOF', 'k'])).toBe(1);
    expect(keyCount('RENAME', ['RENAME', 'a', 'b'])).toBe(2);
    expect(keyCount('COPY', ['COPY', 'a', 'b', 'REPLACE'])).toBe(2);
    expect(keyCount('MGET', ['MGET', 'a', 'b', 'c', 'd'])).toBe(4);
    expect(keyCount('MSET', ['MSET', 'a', '1', 'b', '2', 'c', '3'])).toBe(3);
    expect(keyCount('PING', ['PING'])).toBe(0);
    expect(keyCount('ECHO', ['ECHO', 'hello'])).toBe(0);
    expect(keyCount('FLUSH', ['FLUSH'])).toBe(0);
    expect(keyCount('GET', ['GET'])).toBe(0);
    expect(keyCount('TOSTRING', ['TOSTRING', 'x'])).toBe(0);
    expect(keyCount('HASOWNPROPERTY', ['HASOWNPROPERTY', 'x'])).toBe(0);
  });
});

describe('zcached:connection:state', () => {
  /** Subscribes by name; returns every message (filter by connection id: other clients of this file may publish too). */
  function watchStates(): ConnectionStateMessage[] {
    const seen: ConnectionStateMessage[] = [];
    const onMessage = (message: unknown): void => {
      seen.push(message as ConnectionStateMessage);
    };
    dc.subscribe('zcached:connection:state', onMessage);
    cleanup.push(async () => dc.unsubscribe('zcached:connection:state', onMessage));
    return seen;
  }

  it('connect, break, reconnect, close: every change with id, host, port, from, to; the error and the wait on a break', async () => {
    const up = await server();
    const seen = watchStates();
    const c = client({ port: up.port, backoff: { initial: 20, max: 40, jitter: 0 } });
    await c.run();
    const id = c.connectionPool.connections[0]!.id;
    const mine = (): ConnectionStateMessage[] => seen.filter((message) => message.id === id);
    expect(mine()).toEqual([
      { id, host: '127.0.0.1', port: up.port, from: 'idle', to: 'connecting' },
      { id, host: '127.0.0.1', port: up.port, from: 'connecting', to: 'connected', generation: 'etx' },
    ]);

    await up.waitForConnections(1);
    // The clock stands still from the drop to the reconnect: `retryIn` is the drawn wait (20 ms), not
    // that wait less whatever a busy machine took between drawing it and publishing it.
    const clock = vi.spyOn(performance, 'now').mockReturnValue(performance.now());
    try {
      up.dropConnections();
      await until(() => mine().length === 5);
    } finally {
      clock.mockRestore();
    }
    const [broke, connecting, connected] = mine().slice(2);
    expect(broke).toMatchObject({ id, host: '127.0.0.1', port: up.port, from: 'connected', to: 'broken' });
    expect(broke?.error).toBeInstanceOf(ConnectionError);
    expect(broke?.error?.message).toMatch(new RegExp(`^the connection to 127\\.0\\.0\\.1:${up.port} closed`));
    expect(broke?.retryIn).toBeGreaterThanOrEqual(19);
    expect(broke?.retryIn).toBeLessThanOrEqual(20);
    expect(connecting).toEqual({ id, host: '127.0.0.1', port: up.port, from: 'broken', to: 'connecting' });
    expect(connected).toEqual({ id, host: '127.0.0.1', port: up.port, from: 'connecting', to: 'connected', generation: 'etx' });

    await c.close();
    expect(mine().slice(5)).toEqual([{ id, host: '127.0.0.1', port: up.port, from: 'connected', to: 'closed' }]);
  });
});
