// The andon server tier of bench/runtime/andon, over the NATS transport.
process.env.ANDON_BENCH_TRANSPORT = 'nats';
await import('../../runtime/andon/server.mjs');
