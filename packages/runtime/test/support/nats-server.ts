// The launcher moved to the repository's shared test support; tests elsewhere still import it
// from here, so this path stays.
export * from '../../../../test/support/nats-server.js';
