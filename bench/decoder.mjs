// Decoder throughput: MB/s and replies/s on GET-sized and MGET-sized replies.
// Run: npm run build && node bench/decoder.mjs   (no flags; --help)
import { ReplyDecoder, encodeValue, encodeWire } from 'zcached';
import { DECODER_USAGE, cli, parseNoArgs } from './args.mjs';

function measure(name, reply, { seconds = 1.5, chunkSize = 64 * 1024 } = {}) {
  const one = Buffer.concat([Buffer.isBuffer(reply) ? reply : encodeValue(reply), Buffer.from([3])]);
  const perChunk = Math.max(1, Math.floor(chunkSize / one.length));
  const stream = Buffer.concat(Array.from({ length: perChunk }, () => one));
  // Split the stream into socket-sized chunks that do not align with replies.
  const chunks = [];
  for (let i = 0; i < stream.length; i += 16 * 1024 - 7) chunks.push(stream.subarray(i, i + 16 * 1024 - 7));
  const decoder = new ReplyDecoder();
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
  run(performance.now() + 300); // warm-up
  replies = 0;
  const start = performance.now();
  const bytes = run(start + seconds * 1000);
  const elapsed = (performance.now() - start) / 1000;
  return { workload: name, replyBytes: one.length, 'MB/s': +(bytes / elapsed / 1e6).toFixed(1), 'replies/s': Math.round(replies / elapsed) };
}

export function decoderBench() {
  const value100 = 'v'.repeat(100);
  const mget = new Map(Array.from({ length: 100 }, (_, i) => [`key:${i}`, value100]));
  return [
    measure('GET 100 B', value100),
    measure('GET 10 KB', 'v'.repeat(10_000)),
    measure('SET reply +OK', encodeWire({ type: 'simple', value: 'OK' })),
    measure('MGET 100 x 100 B', mget),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  cli('decoder', DECODER_USAGE, parseNoArgs);
  console.table(decoderBench());
}
