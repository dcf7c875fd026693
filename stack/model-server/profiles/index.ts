/** The provider profiles of the offline model server, by name (see types.ts; each file cites its sources). */
import { azureProfile } from './azure';
import { deepseekProfile } from './deepseek';
import { defaultProfile } from './default';
import { geminiProfile } from './gemini';
import { groqProfile } from './groq';
import { lmstudioProfile } from './lmstudio';
import { mistralProfile } from './mistral';
import { ollamaProfile } from './ollama';
import { openaiProfile } from './openai';
import { openrouterProfile } from './openrouter';
import type { ProfileName, ProviderProfile } from './types';
import { vllmProfile } from './vllm';

export const PROFILES: Record<ProfileName, ProviderProfile> = {
	default: defaultProfile,
	openai: openaiProfile,
	azure: azureProfile,
	ollama: ollamaProfile,
	vllm: vllmProfile,
	lmstudio: lmstudioProfile,
	groq: groqProfile,
	openrouter: openrouterProfile,
	deepseek: deepseekProfile,
	gemini: geminiProfile,
	mistral: mistralProfile,
};

/** The provider profiles (every one but the server's own default dialect). */
export const PROVIDER_PROFILES = (Object.keys(PROFILES) as ProfileName[]).filter(
	(name) => name !== 'default',
);

export type { ProfileName, ProviderProfile, Refusal } from './types';
