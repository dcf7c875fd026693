/** Test documents for keyword search: sources whose text names an option once, among sources that talk about the same subject in general words. */
export const OPTION_DOCS: Record<string, string> = {
	'reconnect.md':
		'# Reconnecting\n\nThe client reconnects after the connection to the server is lost, waiting a little longer after each failed attempt.',
	'queue.md':
		'# Offline queue\n\nWhen the connection is lost, commands wait in a queue and are sent once the client has reconnected to the server.',
	'options.md':
		'# Options\n\nSet maxRetriesPerRequest to null to let commands wait forever instead of failing.',
	'cluster.md':
		'# Cluster\n\nA cluster client connects to every node of the cluster and follows MOVED redirections between servers.',
	'tls.md': '# TLS\n\nPass tls options to connect to a server over an encrypted connection.',
};
