/**
 * How data (names of files and folders, failure reasons, anything read from
 * an output folder) enters the report's pages: as text, never as markup or
 * code. Whoever names an image or a folder must not be able to run script in
 * the reviewer's browser.
 */

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** `text` for HTML text and for attribute values in either quotes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]);
}

/**
 * `value` as a JavaScript expression that is safe inside an inline <script>
 * as well as in a script file: JSON, with the characters that could end the
 * script element or open an HTML comment in it (< > &) and the line
 * separators that older parsers take as line ends written as \uXXXX escapes.
 */
export function scriptData(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError(`${typeof value} cannot be written as script data`);
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
