import { Command, CommanderError, Option } from 'commander';
import { PRESETS, SAMPLINGS, SETTING_SPECS } from '../settings/settings.js';
import { DECODER_GRAPH_MODES } from '../model/decoder-sessions.js';
import { RemoteFault, StorageError } from '../storage/storage-fault.js';
import { VERSION } from '../version.js';
import { EXIT, isUserFacing, runCommand, type RunCliOptions } from './run-command.js';
import { addModelsCommand } from './models-command.js';
import { exportCommand, inspectCommand, interruptible, mergeCommand, reportCommand, statusCommand } from './tools-commands.js';
import { EXPORT_FORMATS } from '../export/export.js';

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The filters on stored masks that export and merge share. */
function addFilterOptions(command: Command): Command {
  return command
    .option('--min-predicted-iou <x>', 'keep masks whose predicted IoU is above this (as --pred-iou-thresh)')
    .option('--min-stability-score <x>', 'keep masks whose stability score is at least this (as --stability-score-thresh)')
    .option('--min-area <px>', 'keep masks of at least this many pixels (as --min-mask-area)')
    .option('--max-area-fraction <x>', 'keep masks covering less than this fraction of the image (as --max-mask-area-fraction)')
    .option('--reject <file>', 'leave out the masks named in this JSON file, {"<file_name>": [annotation ids]} (the review site downloads it)');
}

/** The commander program of the CLI; its actions hand their promise to setResult (scripts/options-doc.ts renders its options). */
export function buildProgram(setResult: (p: Promise<number>) => void): Command {
  const program = new Command('sam-amg')
    .description('Segment Anything automatic mask generation over images and folders, writing SA-1B COCO RLE JSON')
    .argument('[inputs...]', 'image files, folders (searched recursively), glob patterns, http(s):// URLs and s3://bucket/prefix (every image under it, like a folder)')
    .option('-o, --out <dir>', 'output folder or s3://bucket/prefix (required): one <relative path>.json per image')
    .option('-m, --model <name|dir>', 'registry model name (see sam-amg models list; default: mobilesam, downloaded on first use) or a folder with encoder.onnx, decoder.onnx and optional model.json')
    .option('--encoder <file>', 'encoder ONNX file (with --decoder, instead of --model)')
    .option('--decoder <file>', 'decoder ONNX file (with --encoder, instead of --model)')
    .option('--list <file>', "file with one image path, http(s):// URL or s3://bucket/key a line ('-' reads stdin); repeatable", collect)
    .option('--root <dir>', '--list entries are named relative to this folder (default: the current folder)')
    .option('--download-timeout <s>', 'seconds without data before a download of an http(s):// image fails', '30')
    .option('--download-limit <MiB>', 'larger http(s):// and s3:// images fail unread', '512')
    .option('--download-retries <n>', 'further attempts after a 5xx, a 429 or a dropped connection, 0.5 s, 1 s, 2 s, … apart (or as Retry-After says)', '3')
    .addOption(new Option('--preset <name>', 'settings preset; explicit flags override it').choices(Object.keys(PRESETS)).default('default'))
    .addOption(new Option('--format <format>', "json (SA-1B) or png (the reference amg.py folders)").choices(['json', 'png']).default('json'))
    .option('-j, --jobs <n>', 'images in flight at once', '1')
    .option('--threads <n>', 'onnxruntime intra-op threads per session (default: all cores)')
    .option('--device <name>', 'execution provider: cpu, cuda[:N], tensorrt[:N], webgpu, coreml (macOS), dml (Windows); the CPU stays the fallback', 'cpu')
    .option('--prompts-per-call <n>', 'prompts per decoder call where the decoder takes several (default: 1 on the CPU, where larger batches gained nothing measurable and cost memory; --points-per-batch on other devices)')
    .addOption(new Option('--decoder-graph <mode>', 'folded: the decoder\'s per-crop part once per crop, its mask stage only for prompts whose masks can pass the IoU filter, its attentions rewritten to do less arithmetic (same maths, other float rounding); staged: the same without the rewrite (bit for bit the exported graph); split: per-crop part once, the rest every prompt; whole: the exported graph every call').choices([...DECODER_GRAPH_MODES]).default(undefined, 'folded on the CPU, whole on other devices'))
    .addOption(new Option('--filter-graph <on|off>', 'on: the predicted-IoU, stability and crop-edge filters run as a graph on the device, and only masks that survive NMS are upscaled and encoded on the host; off: every candidate is upscaled on the host, as exactly as the reference').choices(['on', 'off']).default(undefined, 'on for GPU devices, off on the CPU'))
    .option('--postprocess-workers <n>', 'worker threads that upscale, filter and encode masks while the decoder runs on (0: on the main thread; default: all cores but one with more than 2 cores, else 0)')
    .option('--shard <i/n>', 'process only shard i of n (0-based), by a stable hash of each relative path')
    .option('--overwrite', 'replace outputs made with other settings or models')
    .option('--json', 'print JSON-lines events on stdout (loading, start, image_progress, image_done, image_failed, image_skipped, summary)')
    .option('-q, --quiet', 'print nothing but errors')
    .option('--progress-interval <seconds>', 'seconds between progress lines when stderr is not a terminal (each naming the images in flight, their stage and prompts done), and between --json image_progress events', '10')
    .version(VERSION, '-V, --version')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => write(`${text.replace(/^error: /, 'sam-amg: ').replace(/\s*$/, '')} (see sam-amg --help)\n`),
    });
  for (const spec of SETTING_SPECS) {
    const shown = Number.isInteger(spec.defaultValue) ? String(spec.defaultValue) : String(+spec.defaultValue.toFixed(4));
    const sam2 = spec.sam2Default === undefined ? '' : `; SAM 2 models: ${spec.sam2Default}, as SAM 2's generator`;
    program.option(`${spec.flag} <value>`, `${spec.help} (default: ${shown}${spec.key === 'cropOverlapRatio' ? ' = 512/1500' : ''}${sam2})`);
  }
  program.addOption(new Option('--sampling <mode>', 'grid: every grid point (the reference); hierarchical: TinySAM\'s hierarchical sampling, a quarter-density pass first and the full density only where its masks left the image uncovered (default: grid)').choices([...SAMPLINGS]));
  program.option('--point-grids <file>', 'JSON file with one list of normalised [x, y] points per crop layer, used instead of --points-per-side (the reference\'s point_grids)');
  program.addHelpText('after', `
Presets:
  dense = --points-per-side 32 --pred-iou-thresh 0.86 --stability-score-thresh 0.92
          --crop-n-layers 1 --crop-n-points-downscale-factor 2 --min-mask-region-area 100
  sa1b  = --points-per-side 32 --crop-n-layers 2 --crop-n-points-downscale-factor 2
          --pred-iou-thresh 0.88 --stability-score-thresh 0.95 --stability-score-offset 1
          --box-nms-thresh 0.7 --min-mask-region-area 100 --max-mask-area-fraction 0.95
          (the SAM paper's fully automatic stage that made SA-1B, appendix B)
  fast  = the default settings with --sampling hierarchical (TinySAM's hierarchical
          sampling: fewer prompts for nearly the same masks)

Rerunning the same command resumes: complete outputs with the same model and settings are skipped.

Exit codes: 0 all images written, 1 some images failed (listed in <out>/failures.jsonl),
            2 usage or model error, or S3 access refused (credentials, bucket, endpoint), found
            before any image, 3 writing the outputs failed (disk full, quota, read-only, I/O
            error, an S3 store failing writes; rerun to resume), 130 interrupted.

Inputs and --out may be s3://bucket/prefix (credentials, region and AWS_ENDPOINT_URL as the
AWS CLI takes them); inputs may be http(s):// URLs.`);
  // Actions hand their promise to main() and return nothing, so commander keeps no unhandled copy of it.
  program.action((inputs: string[], options: RunCliOptions) => {
    setResult(runCommand(inputs, options));
  });
  addModelsCommand(program, setResult);
  const merge = program.command('merge')
    .description('write one COCO instances file from the per-image outputs of a folder (the same as export --format coco)')
    .argument('<out>', 'output folder of a run')
    .requiredOption('--coco <file>', 'COCO annotations file to write');
  addFilterOptions(merge)
    .option('-q, --quiet', 'print nothing but errors')
    .action((out: string, o: Parameters<typeof mergeCommand>[1]) => {
      setResult(interruptible((signal) => mergeCommand(out, o, signal)));
    });
  const exporter = program.command('export')
    .description('write the masks of an output folder for another tool: COCO, Ultralytics YOLO segmentation, Label Studio, label maps')
    .argument('<out>', 'output folder of a run')
    .addOption(new Option('--format <format>', 'coco: one COCO instances file; yolo: labels/<name>.txt polygons and data.yaml; '
      + 'labelstudio: tasks.json with brush pre-annotations and config.xml; labelmap: one 16-bit PNG of mask ids per image').choices([...EXPORT_FORMATS]).makeOptionMandatory())
    .requiredOption('--to <path>', 'the file (coco) or folder (the others) to write; an earlier export there is replaced, any other non-empty folder refused')
    .option('--image-root <prefix>', 'labelstudio: put before each image\'s file name in data.image, e.g. /data/local-files/?d=images/ or s3://bucket/images/ (default: none)')
    .option('--simplify <px>', 'yolo: Douglas-Peucker tolerance in pixels (default: none, the exact outline)');
  addFilterOptions(exporter)
    .option('-q, --quiet', 'print nothing but errors')
    .action((out: string, o: Parameters<typeof exportCommand>[1]) => {
      setResult(interruptible((signal) => exportCommand(out, o, signal)));
    });
  program.command('inspect')
    .description('summarise masks per image, areas and scores; optionally draw overlays')
    .argument('<path>', 'output folder of a run, or one per-image file')
    .option('--viz <dir>', 'write an overlay PNG per image into this folder (needs --images)')
    .option('--images <dir>', 'with --viz: the folder the images were read from; repeatable, for a run over several folders (each image is taken from the first that has its file_name)', collect)
    .option('--json', 'print the summary as JSON')
    .action((target: string, o: { viz?: string; images?: string[]; json?: boolean }) => {
      setResult(interruptible((signal) => inspectCommand(target, o, signal)));
    });
  program.command('report')
    .description('write a static review site of an output folder (opens from disk: no server, no network)')
    .argument('<out>', 'output folder of a run')
    .requiredOption('--to <dir>', 'report folder to write (an earlier report there is replaced; any other non-empty folder is refused)')
    .option('--images <dir>', 'the folder, s3:// prefix or http(s):// base URL the images were read from (without it, masks are drawn on grey); repeatable, for a run over several folders (each picture is taken from the first that has its file_name)', collect)
    .option('-q, --quiet', 'print nothing but errors')
    .action((out: string, o: { to: string; images?: string[]; quiet?: boolean }) => {
      setResult(interruptible((signal) => reportCommand(out, o, signal)));
    });
  program.command('status')
    .description('images done and failed per shard of an output folder, safe to run while shards write into it')
    .argument('<out>', 'output folder of a run')
    .option('--shards <n>', 'the shard count (default: the one its failures files name, else none)')
    .option('--json', 'print the status as JSON')
    .action((out: string, o: { shards?: string; json?: boolean }) => {
      setResult(statusCommand(out, o));
    });
  return program;
}

/** Runs the CLI; returns the exit code instead of exiting so tests and embedders can call it. */
export async function main(argv: string[]): Promise<number> {
  let result: Promise<number> = Promise.resolve(EXIT.ok);
  const program = buildProgram((p) => (result = p));
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT.ok : EXIT.usage;
    }
    throw err;
  }
  try {
    return await result;
  } catch (err) {
    if (isUserFacing(err)) {
      process.stderr.write(`sam-amg: ${err.message}\n`);
      return EXIT.usage;
    }
    // A store that refused a read (credentials, a missing bucket, no answer): a run error, one line.
    if (err instanceof RemoteFault) {
      process.stderr.write(`sam-amg: ${err.location}: ${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof StorageError) {
      process.stderr.write(`sam-amg: ${err.message}\n`);
      return EXIT.storage;
    }
    throw err;
  }
}
