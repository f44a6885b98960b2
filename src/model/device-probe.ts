/**
 * `node device-probe.js <device>`: tries to start onnxruntime's provider for
 * the device on a one-node graph and prints `{"ok":true}` or
 * `{"ok":false,"message":"..."}` on stdout. Run as a child process by
 * `probeDevice`, so the provider's native libraries (Dawn, Vulkan, Wayland)
 * print their own warnings to the child's stderr, not to the run's.
 */
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../graph/graph-builder.js';
import { executionProviders, parseDevice } from './device.js';

const g = new GraphBuilder();
g.op('Relu', [g.input('x', 'float', [1])], {}, 'y');
g.output('y', 'float', [1]);
let answer: { ok: boolean; message?: string };
try {
  const session = await ort.InferenceSession.create(g.serialize('device-probe', 17), {
    executionProviders: executionProviders(parseDevice(process.argv[2] ?? 'cpu')), logSeverityLevel: 4,
  });
  await session.release();
  answer = { ok: true };
} catch (err) {
  answer = { ok: false, message: String((err as Error)?.message ?? err) };
}
// Native threads a provider started may hold the process open: it ends once the answer is out.
process.stdout.write(`${JSON.stringify(answer)}\n`, () => process.exit(0));
