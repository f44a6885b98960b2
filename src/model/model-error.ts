/** A model file that cannot be used; the message names the file and what does not fit. */
export class ModelError extends Error {
  override name = 'ModelError';
}
