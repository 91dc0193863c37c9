export { type ClientOptions, runClient, STOP_AFTER } from './demo/client.js';
export { forwardTo, type MiddleOptions, runMiddle } from './demo/middle.js';
export { cliEntry, type DemoOptions, runDemo } from './demo/orchestrate.js';
export { COUNT, countTo, runServer, type ServerOptions, STEP_MS } from './demo/server.js';
export { buildProgram } from './program.js';
