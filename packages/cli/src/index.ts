// The command is the product. The module exports what builds it, for embedding andon's
// commands in another program; the demo's pieces are internals of `andon demo`.
export { buildProgram } from './program.js';
