import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { ModelError } from '../model/model-error.js';
import { SamOnnxModel } from '../model/sam-onnx.js';
import { runDataset } from '../runner/run-dataset.js';
import { PRESETS, resolveSettings, SETTING_SPECS, type SettingsInput } from '../settings/settings.js';
import { checkNumber, UsageError } from '../settings/validate.js';

export const EXIT = { ok: 0, someFailed: 1, usage: 2, interrupted: 130 } as const;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
  return pkg.version;
}

function camelToOptionKey(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function buildProgram(): Command {
  const program = new Command('sam-amg')
    .description('Segment Anything automatic mask generation over images and folders, writing SA-1B COCO RLE JSON')
    .argument('<inputs...>', 'image files and folders (searched recursively)')
    .requiredOption('-o, --out <dir>', 'output folder: one <relative path>.json per image')
    .option('-m, --model <dir>', 'model folder with encoder.onnx, decoder.onnx and optional model.json')
    .option('--encoder <file>', 'encoder ONNX file (with --decoder, instead of --model)')
    .option('--decoder <file>', 'decoder ONNX file (with --encoder, instead of --model)')
    .addOption(new Option('--preset <name>', 'settings preset; explicit flags override it')
      .choices(Object.keys(PRESETS)).default('default'))
    .option('--threads <n>', 'onnxruntime intra-op threads per session (default: all cores)')
    .option('-q, --quiet', 'print nothing but errors')
    .version(version(), '-V, --version')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'sam-amg: ').replace(/\s*$/, '') + ' (see sam-amg --help)\n') });
  for (const spec of SETTING_SPECS) {
    const shown = Number.isInteger(spec.defaultValue) ? String(spec.defaultValue) : String(+spec.defaultValue.toFixed(4));
    program.option(`${spec.flag} <value>`, `${spec.help} (default: ${shown}${spec.key === 'cropOverlapRatio' ? ' = 512/1500' : ''})`);
  }
  program.addHelpText('after', `
Presets:
  dense = --points-per-side 32 --pred-iou-thresh 0.86 --stability-score-thresh 0.92
          --crop-n-layers 1 --crop-n-points-downscale-factor 2 --min-mask-region-area 100

Exit codes: 0 all images written, 1 some images failed (listed in <out>/failures.jsonl),
            2 usage or model error, 130 interrupted.`);
  return program;
}

interface CliOptions {
  out: string;
  model?: string;
  encoder?: string;
  decoder?: string;
  preset: string;
  threads?: string;
  quiet?: boolean;
  [setting: string]: unknown;
}

async function loadModel(o: CliOptions, threads: number | undefined): Promise<SamOnnxModel> {
  if (o.model && (o.encoder || o.decoder)) throw new UsageError('use either --model or --encoder/--decoder, not both');
  if (o.model) return SamOnnxModel.loadDir(o.model, { threads });
  if (o.encoder && o.decoder) return SamOnnxModel.load({ encoder: o.encoder, decoder: o.decoder }, { threads });
  if (o.encoder || o.decoder) throw new UsageError('--encoder and --decoder go together');
  throw new UsageError('no model: pass --model DIR (a folder with encoder.onnx and decoder.onnx) or --encoder FILE --decoder FILE');
}

/** Runs the CLI; returns the exit code instead of exiting so tests and embedders can call it. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT.ok : EXIT.usage;
    }
    throw err;
  }
  const o = program.opts<CliOptions>();
  const say = (line: string) => { if (!o.quiet) process.stderr.write(`${line}\n`); };
  try {
    const raw: SettingsInput = {};
    for (const spec of SETTING_SPECS) {
      const v = o[camelToOptionKey(spec.flag)];
      if (v !== undefined) raw[spec.key] = v;
    }
    const settings = resolveSettings(raw, o.preset, 'flags');
    const threads = o.threads === undefined ? undefined
      : checkNumber('--threads', o.threads, { integer: true, min: 1, max: 1024 });
    const model = await loadModel(o, threads);
    try {
      const summary = await runDataset({
        inputs: program.processedArgs[0] as string[],
        outDir: o.out,
        model,
        settings,
        onFailure: (f) => process.stderr.write(`sam-amg: ${f.path}: ${f.reason}\n`),
      });
      const rate = summary.seconds > 0 ? (summary.written / summary.seconds).toFixed(2) : '-';
      say(`sam-amg: ${summary.images} images: ${summary.written} written, ${summary.failed.length} failed` +
        `${summary.skippedNonImages ? `, ${summary.skippedNonImages} non-image files skipped` : ''}; ` +
        `${summary.masks} masks in ${summary.seconds.toFixed(1)} s (${rate} images/s)`);
      return summary.failed.length > 0 ? EXIT.someFailed : EXIT.ok;
    } finally {
      await model.release();
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof ModelError) {
      process.stderr.write(`sam-amg: ${err.message}\n`);
      return EXIT.usage;
    }
    throw err;
  }
}
