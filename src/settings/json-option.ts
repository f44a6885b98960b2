import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';

/**
 * The JSON of a file an option names (`--point-grids`, `--reject`): a file
 * that cannot be read or parsed is a UsageError in one line naming the
 * option, the file and the cause. The caller checks the shape.
 */
export async function readJsonOption(flag: string, file: string): Promise<{ text: string; value: unknown }> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`${flag} ${file}: cannot read it (${err.code === 'ENOENT' ? 'no such file' : err.code ?? err.message})`);
  });
  try {
    // Editors on Windows begin UTF-8 files with a byte order mark, which JSON does not allow.
    return { text, value: JSON.parse(text.replace(/^\uFEFF/, '')) };
  } catch (err) {
    throw new UsageError(`${flag} ${file}: not valid JSON (${(err as Error).message.split('\n')[0]})`);
  }
}
