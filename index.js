// n8n loads this package through the `n8n` section of package.json (compiled nodes and credentials in dist/).
// This entry exists so that `require('n8n-nodes-openagents')` resolves; it exposes nothing at run time.
module.exports = {};
