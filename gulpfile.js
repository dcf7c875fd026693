// Copies node and credential icons next to the compiled files: n8n resolves `icon: 'file:x.svg'` relative to the .js file.
// (Each node's codex, `<Node>.node.json`, is imported by the node, so tsc emits it.)
const { src, dest } = require('gulp');

function copyIcons() {
	return src(['nodes/**/*.{png,svg}', 'credentials/**/*.{png,svg}', 'icons/*.{png,svg}'], {
		base: '.',
		encoding: false,
	}).pipe(dest('dist'));
}

exports['build:icons'] = copyIcons;
