/**
 * File bytes → text in the character encoding the file declares or, failing that, the one it is in:
 * - HTML and XML: the HTML Standard's encoding sniffing algorithm (byte order mark, `<?xml … encoding="…"?>`,
 *   `<meta charset>` / `<meta http-equiv="Content-Type">`, then the transport layer's charset), via
 *   `encoding-sniffer`; without any declaration, UTF-8 when the bytes are valid UTF-8, else windows-1252 (the
 *   Standard's default for undeclared pages);
 * - every other text format: a byte order mark (UTF-8, UTF-16 LE/BE), else the transport layer's charset, else UTF-8
 *   when the bytes are valid UTF-8, else the encoding `chardet` detects (the detector of Node mail and HTTP stacks).
 */
import { detect } from 'chardet';
import { decodeBuffer, getEncoding } from 'encoding-sniffer';

import { RagError } from './errors';

interface DecodeOptions {
	/** HTML and XML honour their in-document declarations; other formats are sniffed as plain text. */
	markup: boolean;
	/** The MIME type's `charset` parameter, if any (e.g. from `text/plain; charset=iso-8859-1`). */
	mimeType?: string;
	/** Names the document in errors, e.g. `Document "docs/guide.html"`. */
	what: string;
}

/** The `charset` parameter of a MIME type, e.g. "iso-8859-1" for `text/html; charset=ISO-8859-1`. */
function charsetOf(mimeType = ''): string | undefined {
	return /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(mimeType)?.[1]?.toLowerCase();
}

function isUtf8(bytes: Uint8Array): boolean {
	try {
		new TextDecoder('utf-8', { fatal: true }).decode(bytes);
		return true;
	} catch {
		return false;
	}
}

function bomEncoding(bytes: Uint8Array): string | undefined {
	if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8';
	if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
	if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
	return undefined;
}

/** Decodes with a WHATWG encoding label; throws RagError INVALID_ENCODING for an unknown label or invalid bytes. */
function decodeAs(bytes: Uint8Array, label: string, what: string): string {
	try {
		return new TextDecoder(label, { fatal: true }).decode(bytes);
	} catch (error) {
		throw new RagError(
			'INVALID_ENCODING',
			`${what} cannot be decoded as ${label}: ${(error as Error).message}`,
			{ cause: error },
		);
	}
}

/**
 * The document's text. Throws RagError INVALID_ENCODING naming the document when its bytes fit no encoding (binary
 * data such as an image given as text, or a declared encoding the bytes are not in).
 */
export function decodeDocument(bytes: Uint8Array, options: DecodeOptions): string {
	const transport = charsetOf(options.mimeType);
	if (options.markup) {
		const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
		const sniffing = {
			transportLayerEncodingLabel: transport,
			defaultEncoding: isUtf8(bytes) ? 'utf-8' : 'windows-1252',
		};
		try {
			getEncoding(buffer, sniffing); // rejects an unknown declared label before decoding
			return decodeBuffer(buffer, sniffing);
		} catch (error) {
			throw new RagError(
				'INVALID_ENCODING',
				`${options.what}: its declared character encoding cannot be read (${(error as Error).message})`,
				{ cause: error },
			);
		}
	}
	const bom = bomEncoding(bytes);
	if (bom) return decodeAs(bytes, bom, options.what).replace(/^\uFEFF/, '');
	if (transport) return decodeAs(bytes, transport, options.what);
	if (isUtf8(bytes)) return decodeAs(bytes, 'utf-8', options.what);
	// NUL bytes without a UTF-16 byte order mark: binary data, not text in some legacy encoding.
	if (bytes.includes(0)) {
		throw new RagError(
			'INVALID_ENCODING',
			`${options.what} is not text in any known character encoding (it holds NUL bytes: is it a binary file?)`,
		);
	}
	const detected = detect(bytes);
	if (!detected) {
		throw new RagError(
			'INVALID_ENCODING',
			`${options.what}: its character encoding cannot be detected; save it as UTF-8`,
		);
	}
	return decodeAs(bytes, detected, options.what);
}
