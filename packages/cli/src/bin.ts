#!/usr/bin/env node
import { buildProgram } from './program.js';

// The actions set process.exitCode rather than calling process.exit, so output on pipes
// is never cut short; a leaked handle would show up as a process that does not end.
await buildProgram().parseAsync(process.argv);
