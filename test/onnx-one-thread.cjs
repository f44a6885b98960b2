/**
 * In test processes only (vitest's workers, through vitest.config.ts's
 * setupFiles, and every CLI the tests spawn, through testEnv's NODE_OPTIONS):
 * an onnxruntime session that asks for no thread count gets one intra-op
 * thread, as `--threads 1` would give it. Left to onnxruntime, every session
 * starts a pool of all cores whose threads spin between runs: with two test
 * files at once on a 2-core machine, each file's sessions kept both cores
 * busy, and the tiny fixture models gain nothing from a second thread (a run
 * of the demo took 60 % more CPU time with two). Masks do not depend on it.
 *
 * Plain CommonJS, no import of onnxruntime here: the hook patches
 * onnxruntime-common's InferenceSession.create when onnxruntime-node
 * requires it, so a command that never loads a model loads nothing more.
 */
'use strict';
const Module = require('node:module');

const PATCHED = Symbol.for('sam-amg.test.onnx-one-thread');

function patch(InferenceSession) {
  if (!InferenceSession || InferenceSession[PATCHED]) return;
  const create = InferenceSession.create.bind(InferenceSession);
  // create(path | bytes, options?) or create(buffer, byteOffset, byteLength?, options?).
  InferenceSession.create = (...args) => {
    const k = args.findIndex((a, i) => i > 0 && typeof a === 'object' && a !== null && !ArrayBuffer.isView(a) && !(a instanceof ArrayBuffer));
    if (k >= 0) args[k] = { intraOpNumThreads: 1, ...args[k] };
    else if (args[1] === undefined) args[1] = { intraOpNumThreads: 1 };
    return create(...args);
  };
  InferenceSession[PATCHED] = true;
}

if (!Module[PATCHED]) {
  Module[PATCHED] = true;
  const load = Module._load;
  Module._load = function loadPatched(request) {
    const exported = load.apply(this, arguments);
    if (request === 'onnxruntime-common' && exported) patch(exported.InferenceSession);
    return exported;
  };
}
