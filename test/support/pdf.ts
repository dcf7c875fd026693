/**
 * Writes minimal, valid PDF 1.4 files for loader tests: one page per entry of `pages`, each line of text drawn
 * in Helvetica 12 pt with `Tj`. A page given as '' has an empty content stream (a "scanned" PDF without text).
 * Byte offsets in the xref table are exact, so strict readers (pdf.js) parse it without repairs.
 */
export function makePdf(pages: string[][]): Buffer {
	const objects: string[] = [];
	const add = (body: string) => objects.push(body);
	const escape = (s: string) => s.replace(/[\\()]/g, (c) => `\\${c}`);
	add('<< /Type /Catalog /Pages 2 0 R >>');
	const pageIds = pages.map((_, i) => 4 + i * 2);
	add(
		`<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`,
	);
	add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>');
	for (const [i, lines] of pages.entries()) {
		const stream = lines.length
			? `BT /F1 12 Tf 72 720 Td 14 TL ${lines.map((line) => `(${escape(line)}) Tj T*`).join(' ')} ET`
			: '';
		add(
			`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${pageIds[i] + 1} 0 R >>`,
		);
		add(`<< /Length ${Buffer.byteLength(stream, 'latin1')} >>\nstream\n${stream}\nendstream`);
	}
	let pdf = '%PDF-1.4\n';
	const offsets: number[] = [];
	objects.forEach((body, i) => {
		offsets.push(Buffer.byteLength(pdf, 'latin1'));
		pdf += `${i + 1} 0 obj\n${body}\nendobj\n`;
	});
	const xref = Buffer.byteLength(pdf, 'latin1');
	pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
	pdf += offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
	pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
	return Buffer.from(pdf, 'latin1');
}
