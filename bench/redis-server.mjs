// A throw-away redis-server for the benchmarks: started on a free loopback
// port with persistence off, stopped afterwards.
//
//   const redis = await startRedisServer();   // { host, port, version, pid, stop() }
//   ...
//   await redis.stop();
//
// Run alone (`node bench/redis-server.mjs`) it starts one, prints where, and
// stops it on Ctrl-C.

import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { REDIS_SERVER_USAGE, cli, parseNoArgs } from './args.mjs';

const INSTALL_HINT =
  'redis-server was not found. Install it (Debian/Ubuntu: `sudo apt-get install redis-server`, ' +
  'macOS: `brew install redis`) or point REDIS_SERVER at the binary.';

/** The redis-server binary: $REDIS_SERVER, else the first `redis-server` on PATH, else /usr/bin/redis-server. */
export function redisServerBinary() {
  if (process.env.REDIS_SERVER) return process.env.REDIS_SERVER;
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const path = found.status === 0 ? found.stdout.trim() : '';
  return path || '/usr/bin/redis-server';
}

/** `redis-server --version`, or undefined when the binary cannot run. */
export function redisServerVersion(binary = redisServerBinary()) {
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  if (result.error !== undefined || result.status !== 0) return undefined;
  return /v=(\S+)/.exec(result.stdout)?.[1] ?? result.stdout.trim();
}

/** A TCP port nobody listens on right now (the kernel's choice). */
export function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once a PING gets +PONG, or rejects after `timeoutMs`. */
async function waitForPong(host, port, timeoutMs, exited) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (exited()) throw new Error('redis-server exited during start-up');
    const ok = await new Promise((resolve) => {
      const socket = net.connect({ host, port });
      let reply = '';
      socket.setTimeout(500, () => socket.destroy());
      socket.on('error', () => resolve(false));
      socket.on('close', () => resolve(reply.startsWith('+PONG')));
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (chunk) => {
        reply += chunk.toString('latin1');
        if (reply.includes('\r\n')) socket.end();
      });
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`redis-server did not answer PING on ${host}:${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Starts redis-server on 127.0.0.1 and a free port: no RDB, no AOF, no
 * protected mode, logs to stderr kept in memory (shown if start-up fails).
 * @returns {Promise<{ host: string, port: number, pid: number, version: string, binary: string, stop(): Promise<void> }>}
 */
export async function startRedisServer({ host = '127.0.0.1', extraArgs = [], attempts = 3 } = {}) {
  const binary = redisServerBinary();
  const version = redisServerVersion(binary);
  if (version === undefined) throw new Error(INSTALL_HINT);
  let lastError;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = await freePort(host);
    const args = [
      '--port', String(port),
      '--bind', host,
      '--save', '',
      '--appendonly', 'no',
      '--protected-mode', 'no',
      '--daemonize', 'no',
      '--logfile', '',
      '--loglevel', 'warning',
      ...extraArgs,
    ];
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let exited = false;
    const onOutput = (chunk) => {
      if (output.length < 64 * 1024) output += chunk.toString();
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    const exit = new Promise((resolve) => child.once('exit', () => {
      exited = true;
      resolve();
    }));
    child.once('error', (error) => {
      exited = true;
      output += String(error);
    });
    try {
      await waitForPong(host, port, 5_000, () => exited);
    } catch (error) {
      lastError = new Error(`${error.message}\n${output.trim()}`);
      if (!exited) child.kill('SIGKILL');
      await exit;
      continue; // the port may have been taken between freePort() and the bind: try another
    }
    const stop = async () => {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exit;
      clearTimeout(timer);
    };
    // Never leave a redis-server behind, even when the benchmark crashes.
    const onExit = () => {
      if (!exited) child.kill('SIGKILL');
    };
    process.once('exit', onExit);
    return {
      host,
      port,
      pid: child.pid,
      version,
      binary,
      stop: async () => {
        process.removeListener('exit', onExit);
        await stop();
      },
    };
  }
  throw lastError;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  cli('redis-server', REDIS_SERVER_USAGE, parseNoArgs);
  try {
    const redis = await startRedisServer();
    console.log(`redis-server ${redis.version} (pid ${redis.pid}) on ${redis.host}:${redis.port}; Ctrl-C stops it`);
    process.once('SIGINT', () => redis.stop().then(() => process.exit(0)));
  } catch (error) {
    console.error(error.message);
    process.exitCode = 1;
  }
}
