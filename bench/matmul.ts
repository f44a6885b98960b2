import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../src/graph/graph-builder.js';

/** A graph of one MatMul, activations [m, k] × a constant weight [k, n], like a Linear layer. */
export function matmulGraph(m: number, k: number, n: number): Uint8Array {
  const g = new GraphBuilder();
  const a = g.input('a', 'float', [m, k]);
  let seed = 1;
  const weight = Array.from({ length: k * n }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5);
  g.op('MatMul', [a, g.constant('float', [k, n], weight)], {}, 'y');
  g.output('y', 'float', [m, n]);
  return g.serialize('matmul', 17);
}

export async function timeMatmul(session: ort.InferenceSession, m: number, k: number, n: number): Promise<number> {
  const feed = { a: new ort.Tensor('float32', new Float32Array(m * k).fill(0.5), [m, k]) };
  await session.run(feed);
  const calls = Math.max(3, Math.round(2e10 / (m * k * n)));
  const start = performance.now();
  for (let i = 0; i < calls; i++) await session.run(feed);
  return (calls * m * k * n) / 1e9 / ((performance.now() - start) / 1000);
}

