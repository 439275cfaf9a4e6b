#!/usr/bin/env node
// `npm run emulator -- --port 8000`: a vLLM look-alike with a synthetic safety model.
import { parseArgs } from 'node:util';
import { isEmulatorError, startEmulator, type EmulatorOptions } from '../index.js';

const HELP = `Usage: npm run emulator -- [options]

Serves vLLM's OpenAI-compatible API (/v1/chat/completions, /v1/completions, /v1/models,
/health, /version, /metrics) backed by a synthetic, deterministic "safety model".

  --port N                 TCP port (default 8000; 0 = any free port)
  --host ADDR              listen address (default 127.0.0.1)
  --allow-remote           allow a non-loopback --host
  --model NAME             served model name (default Qwen/Qwen3-1.7B)
  --served-models A,B,C    serve several models (as a router would); each behaves by its name's size
                           (e.g. Qwen/Qwen3-0.6B refuses less precisely, is less sure and terser than 4B)
  --seed N                 synthetic model seed (default 0)
  --ttft-ms N              time to first token, ms (default 0)
  --tokens-per-second N    decode speed per sequence (default: unlimited)
  --max-num-seqs N         batch size; more requests queue (default 256)
  --max-logprobs N         largest top_logprobs accepted (default 20)
  --max-model-len N        context length (default 40960)
  --reasoning-parser qwen3 split <think> text into reasoning_content
  --max-tokens-per-chunk N chunks carry 1..N tokens (default 1)
  --text-lag-tokens N      text trails logprobs by N tokens (stop-string hold-back; default 0)
  --clamp-rate X           share of positions whose top-logprobs tail is -9999.0 (default 0)
  --judge-error-rate X     share of wrong answers of the emulated judge (WildGuard / XSTest / HarmBench
                           prompts are answered in their format from the synthetic ground truth; default 0.05)
  --judge-unparsable-rate X share of judge answers in no format at all (default 0)
  --verbose                log one line per request
  Environment: VLLM_API_KEY (if set, /v1/* requires "Authorization: Bearer <key>")
`;

function num(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || Number.isNaN(n)) {
    process.stderr.write(`--${flag}: "${value}" is not a number. See --help.\n`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'allow-remote': { type: 'boolean' },
        model: { type: 'string' },
        'served-models': { type: 'string' },
        seed: { type: 'string' },
        'ttft-ms': { type: 'string' },
        'tokens-per-second': { type: 'string' },
        'max-num-seqs': { type: 'string' },
        'max-logprobs': { type: 'string' },
        'max-model-len': { type: 'string' },
        'reasoning-parser': { type: 'string' },
        'max-tokens-per-chunk': { type: 'string' },
        'text-lag-tokens': { type: 'string' },
        'clamp-rate': { type: 'string' },
        'judge-error-rate': { type: 'string' },
        'judge-unparsable-rate': { type: 'string' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
  if (values.help === true) {
    process.stdout.write(HELP);
    return;
  }
  const parser = values['reasoning-parser'];
  if (parser !== undefined && parser !== 'qwen3') {
    process.stderr.write(`--reasoning-parser: only "qwen3" is supported, got "${parser}".\n`);
    process.exit(2);
  }
  const opts: { -readonly [K in keyof EmulatorOptions]: EmulatorOptions[K] } = {
    port: num('port', values.port) ?? 8000,
  };
  const set = <K extends keyof EmulatorOptions>(k: K, v: EmulatorOptions[K] | undefined): void => {
    if (v !== undefined) opts[k] = v;
  };
  set('host', values.host);
  set('allowRemote', values['allow-remote']);
  set('model', values.model);
  const served = values['served-models']?.split(',').map((m) => m.trim());
  if (served !== undefined && served.some((m) => m === '')) {
    process.stderr.write(
      `--served-models: "${values['served-models']}" has an empty name; pass names separated by commas.\n`,
    );
    process.exit(2);
  }
  set('servedModels', served);
  set('seed', num('seed', values.seed));
  set('ttftMs', num('ttft-ms', values['ttft-ms']));
  set('tokensPerSecond', num('tokens-per-second', values['tokens-per-second']));
  set('maxNumSeqs', num('max-num-seqs', values['max-num-seqs']));
  set('maxLogprobs', num('max-logprobs', values['max-logprobs']));
  set('maxModelLen', num('max-model-len', values['max-model-len']));
  set('maxTokensPerChunk', num('max-tokens-per-chunk', values['max-tokens-per-chunk']));
  set('textLagTokens', num('text-lag-tokens', values['text-lag-tokens']));
  set('clampRate', num('clamp-rate', values['clamp-rate']));
  if (parser === 'qwen3') opts.reasoningParser = 'qwen3';
  const judgeErrorRate = num('judge-error-rate', values['judge-error-rate']);
  const judgeUnparsableRate = num('judge-unparsable-rate', values['judge-unparsable-rate']);
  if (judgeErrorRate !== undefined || judgeUnparsableRate !== undefined) {
    opts.judge = {
      ...(judgeErrorRate === undefined ? {} : { errorRate: judgeErrorRate }),
      ...(judgeUnparsableRate === undefined ? {} : { unparsableRate: judgeUnparsableRate }),
    };
  }
  const key = process.env['VLLM_API_KEY'];
  if (key !== undefined && key !== '') opts.apiKey = key;
  if (values.verbose === true) opts.log = (line) => process.stderr.write(`${line}\n`);

  try {
    const emu = await startEmulator(opts);
    process.stderr.write(
      `deepconf-safety emulator (EMULATED models, not real ones) serving ${emu.models.map((m) => `"${m}"`).join(', ')} at ${emu.baseURL}${opts.apiKey === undefined ? '' : ' (API key required)'}\n`,
    );
    const stop = (): void => {
      void emu.close().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  } catch (e) {
    if (isEmulatorError(e)) {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
}

await main();
