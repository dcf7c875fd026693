/** The failed-item rule of nodes whose items fail one by one (Agent, Planner). */
import { NodeOperationError, type IDataObject, type IExecuteFunctions } from 'n8n-workflow';

export interface ItemFailure {
	/** The error message, secrets already redacted. */
	message: string;
	code?: string;
	/** Shown under the error in n8n: what to do about it. */
	description: string;
	/** Added to the error item (partial result, usage, …). */
	details?: IDataObject;
}

/**
 * Without continueOnFail: throws — n8n's own NodeOperationError as it is, any other error as a NodeOperationError
 * "Item <i>: <message>" with the item index and the description. With continueOnFail: returns the error item's JSON,
 * { error: message, code (or null), ...details }.
 */
export function failedItem(fn: IExecuteFunctions, error: Error, itemIndex: number, failure: ItemFailure): IDataObject {
	if (!fn.continueOnFail()) {
		if (error instanceof NodeOperationError) throw error;
		throw new NodeOperationError(fn.getNode(), `Item ${itemIndex}: ${failure.message}`, { itemIndex, description: failure.description });
	}
	return { error: failure.message, code: failure.code ?? null, ...failure.details };
}
