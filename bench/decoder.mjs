// Decoder throughput: MB/s and replies/s on GET-sized and MGET-sized replies,
// each reply followed by 0x03 as a current server sends it, decoded with the
// framing check a connection to a current server uses (`terminator:
// 'required'`: the 0x03 must follow each reply, and the reply is handed on
// only then) and without it (`'optional'`: a 0x03 between replies skipped,
// as before issue 18). Rounds alternate the two, and `required/optional` is
// the median of the per-round ratios: the cost of checking every reply's
// framing.
// Run: npm run build && node bench/decoder.mjs   (no flags; --help)
import { ReplyDecoder, encodeValue, encodeWire } from 'zcached';
import { DECODER_USAGE, cli, parseNoArgs } from './args.mjs';

function measure(name, reply, { seconds = 0.3, chunkSize = 64 * 1024, terminator = 'optional' } = {}) {
  const one = Buffer.concat([Buffer.isBuffer(reply) ? reply : encodeValue(reply), Buffer.from([3])]);
  const perChunk = Math.max(1, Math.floor(chunkSize / one.length));
  const stream = Buffer.concat(Array.from({ length: perChunk }, () => one));
  // Split the stream into socket-sized chunks that do not align with replies.
  const chunks = [];
  for (let i = 0; i < stream.length; i += 16 * 1024 - 7) chunks.push(stream.subarray(i, i + 16 * 1024 - 7));
  const decoder = new ReplyDecoder({ terminator });
  let replies = 0;
  const onReply = () => {
    replies++;
  };
  const run = (until) => {
    let bytes = 0;
    while (performance.now() < until) {
      for (const chunk of chunks) decoder.push(chunk, onReply);
      bytes += stream.length;
    }
    return bytes;
  };
  run(performance.now() + 100); // warm-up
  replies = 0;
  const start = performance.now();
  const bytes = run(start + seconds * 1000);
  const elapsed = (performance.now() - start) / 1000;
  return { workload: name, replyBytes: one.length, 'MB/s': +(bytes / elapsed / 1e6).toFixed(1), 'replies/s': Math.round(replies / elapsed) };
}

const ROUNDS = 5;

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** One workload, both framings, rounds alternating which goes first. */
function compare(name, reply) {
  const required = [];
  const optional = [];
  for (let round = 0; round < ROUNDS; round++) {
    const pair = round % 2 === 0 ? ['required', 'optional'] : ['optional', 'required'];
    for (const terminator of pair) (terminator === 'required' ? required : optional).push(measure(name, reply, { terminator }));
  }
  const ratios = required.map((r, i) => r['replies/s'] / optional[i]['replies/s']);
  const best = (rows) => rows.reduce((a, b) => (b['replies/s'] > a['replies/s'] ? b : a));
  return {
    workload: name,
    replyBytes: required[0].replyBytes,
    'MB/s': best(required)['MB/s'],
    'replies/s': best(required)['replies/s'],
    'replies/s optional': best(optional)['replies/s'],
    'required/optional': +median(ratios).toFixed(3),
  };
}

export function decoderBench() {
  const value100 = 'v'.repeat(100);
  const mget = new Map(Array.from({ length: 100 }, (_, i) => [`key:${i}`, value100]));
  return [
    compare('GET 100 B', value100),
    compare('GET 10 KB', 'v'.repeat(10_000)),
    compare('SET reply +OK', encodeWire({ type: 'simple', value: 'OK' })),
    compare('MGET 100 x 100 B', mget),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  cli('decoder', DECODER_USAGE, parseNoArgs);
  console.table(decoderBench());
}
