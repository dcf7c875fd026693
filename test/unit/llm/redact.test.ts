import { redactError, redactText } from '../../../lib/llm/redact';

const KEY = 'sk-secret-key-123456';

/** Like a DOMException (the AbortError of a cancelled fetch): `message` is a getter, assigning it throws. */
class ReadOnlyMessageError extends Error {
	constructor(private readonly text: string) {
		super();
		this.name = 'AbortError';
	}

	override get message(): string {
		return this.text;
	}
}

describe('redactError', () => {
	it('redacts the message and stack of an error and its causes, in place', () => {
		const cause = new Error(`upstream said ${KEY}`);
		const error = new Error(`call failed with ${KEY}`, { cause });
		expect(redactError(error, [KEY])).toBe(error);
		expect(error.message).toBe('call failed with [redacted]');
		expect(error.stack).not.toContain(KEY);
		expect(cause.message).toBe('upstream said [redacted]');
	});

	it('leaves a cancelled request’s AbortError as it is: its message is a getter', () => {
		const aborted = new ReadOnlyMessageError('This operation was aborted');
		expect(() => redactError(aborted, [KEY])).not.toThrow();
		expect(redactError(aborted, [KEY])).toBe(aborted);
	});

	it('wraps an error whose message holds a secret and cannot be rewritten', () => {
		const fixed = new ReadOnlyMessageError(`refused ${KEY}`);
		const redacted = redactError(fixed, [KEY]);
		expect(redacted).not.toBe(fixed);
		expect(redacted.name).toBe('AbortError');
		expect(redacted.message).toBe('refused [redacted]');
		expect(JSON.stringify({ ...redacted, cause: redacted.cause })).not.toContain(KEY);
	});

	it('redacts bearer tokens without being told the secret', () => {
		expect(redactText('Authorization: Bearer abcdefgh12345', [])).toBe(
			'Authorization: Bearer [redacted]',
		);
	});
});
