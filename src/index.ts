/**
 * sam-amg as a library: decode an image, load a SAM encoder/decoder pair,
 * generate masks with the reference semantics, encode and write them.
 */
export { generateMasks, generateMaskData, MASKS_PER_PROMPT, type GenerateOptions, type GenerateProgress } from './amg/generator.js';
export type { PromptModel, CropEmbedding, DecodedPrompts } from './amg/prompt-model.js';
export type { MaskRecord } from './amg/records.js';
export { MaskData } from './amg/mask-data.js';
export { InlineBatchProcessor, type BatchProcessor, type BatchFrame } from './amg/batch-processor.js';
export { PostprocessPool, defaultPostprocessWorkers } from './runner/postprocess-pool.js';
export { generateCropBoxes, buildPointGrid, buildLayerPointGrids, preprocessShape } from './amg/geometry.js';
export { decodeImage, ImageDecodeError } from './image/decode.js';
export { pilBilinearResize } from './image/pil-resize.js';
export type { RgbImage } from './image/rgb-image.js';
export { cropImage } from './amg/crop-image.js';
export { SamOnnxModel, type ModelFiles, type RuntimeOptions } from './model/sam-onnx.js';
export { ModelError } from './model/model-error.js';
export { encodeCountsString, decodeCountsString } from './rle/coco-string.js';
export {
  rleFromColumnMajor, rleFromRowMajor, rleToColumnMajor, rleToRowMajor, rleArea, rleBoxXyxy, type Rle,
} from './rle/rle.js';
export { outputPathFor } from './output/layout.js';
export { toSa1b, imageIdFor, type Sa1bFile, type Sa1bAnnotation, type Sa1bImage } from './output/sa1b.js';
export { writeFileAtomic } from './storage/atomic-write.js';
export { folderStatus, type FolderStatus } from './output/folder-status.js';
export { buildReport, type ReportOptions, type ReportSummary } from './report/build-report.js';
export { parseDevice, type Device } from './model/device.js';
export { runDataset, type DatasetRunOptions, type SettingOptions } from './runner/run.js';
export type { RunSummary, ImageFailure } from './runner/run-dataset.js';
export type { RunEvent, ImageTimings } from './runner/events.js';
export { exportLabels, EXPORT_FORMATS, type ExportFormat, type ExportOptions, type ExportSummary } from './export/export.js';
export { StorageError, RemoteFault } from './storage/storage-fault.js';
export { readInput, DEFAULT_DOWNLOAD_LIMITS, InputReadError, type DownloadLimits } from './storage/read-input.js';
export { storeFor, type Store, type StoreFile } from './storage/store.js';
export { listInputs, IMAGE_EXTENSIONS } from './runner/inputs.js';
export {
  resolveSettings, defaultSettings, DEFAULT_SETTINGS, PRESETS, SAMPLINGS, SETTING_SPECS, type AmgReference, type AmgSettings, type Sampling, type SettingsInput,
} from './settings/settings.js';
export { UsageError, type OptionNames } from './errors.js';
