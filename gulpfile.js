// Copies node and credential icons next to the compiled files: n8n resolves `icon: 'file:x.svg'` relative to the .js file.
const { src, dest } = require('gulp');

function copyIcons() {
	return src(['nodes/**/*.{png,svg,json}', 'credentials/**/*.{png,svg}', 'icons/*.{png,svg}'], {
		base: '.',
		encoding: false,
	}).pipe(dest('dist'));
}

exports['build:icons'] = copyIcons;
