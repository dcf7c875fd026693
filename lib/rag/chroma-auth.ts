/**
 * Chroma's token authentication as HTTP headers. Kept apart from the Chroma client so that the credential type can
 * use it without loading the client.
 */

/**
 * Headers for Chroma's token auth (`authentication`: none, bearer → `Authorization: Bearer <token>`, xChromaToken →
 * `X-Chroma-Token: <token>`), e.g. `{ Authorization: 'Bearer s3cret' }`; `{}` for none (or anything else).
 */
export function chromaAuthHeaders(auth: {
	authentication?: unknown;
	token?: unknown;
}): Record<string, string> {
	const token = String(auth.token ?? '');
	if (auth.authentication === 'bearer') return { Authorization: `Bearer ${token}` };
	if (auth.authentication === 'xChromaToken') return { 'X-Chroma-Token': token };
	return {};
}
