// A vLLM-shaped server that misbehaves on purpose, run as a child process of the tests (real sockets, real
// process). The first path segment picks the fault: http://127.0.0.1:PORT/<mode>/v1/chat/completions. It prints
// {"port": N} once listening, answers GET /x/count with how many generation (POST) requests each mode received, and
// exits when its stdin closes (so it never outlives the test run).
import { createServer } from 'node:http';

const counts = new Map();
const sockets = new Set();
const timers = new Set();

const chunk = (delta, logprobs, finish = null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 1767225600, model: 'm', choices: [{ index: 0, delta, logprobs, finish_reason: finish }] })}\n\n`;
const role = () => chunk({ role: 'assistant', content: '' }, null);
const entry = (t, i) => ({
  token: t,
  logprob: -0.25,
  bytes: [97],
  top_logprobs: [
    { token: t, logprob: -0.25, bytes: [97] },
    { token: 'b', logprob: -1.5 - (i % 3), bytes: [98] },
    { token: 'c', logprob: -3, bytes: [99] },
    { token: 'd', logprob: -4, bytes: [100] },
  ],
});
const token = (i) => chunk({ content: `t${i} ` }, { content: [entry(`t${i} `, i)] });
const finish = (i) => chunk({ content: '' }, { content: [entry('<|im_end|>', i)] }, 'stop');
const sseHead = (res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.flushHeaders();
};
const every = (ms, fn) => {
  const t = setInterval(fn, ms);
  timers.add(t);
  return t;
};

const modes = {
  // Accepts the request and never answers.
  'stall-headers': () => undefined,
  // Headers and a role chunk, then silence: accepted, never a token.
  'stall-role': (res) => {
    sseHead(res);
    res.write(role());
  },
  // Headers, a role chunk and three tokens, then silence.
  'stall-mid': (res) => {
    sseHead(res);
    res.write(role() + token(0) + token(1) + token(2));
  },
  // Resets the connection before any byte of a response.
  reset: (_res, req) => req.socket.resetAndDestroy(),
  // Two tokens, then a reset.
  'reset-mid': (res, req) => {
    sseHead(res);
    res.write(role() + token(0) + token(1), () => setTimeout(() => req.socket.resetAndDestroy(), 50));
  },
  // Tokens for ever, ignoring max_tokens; never a finish chunk.
  endless: (res) => {
    sseHead(res);
    res.write(role());
    let i = 0;
    const t = every(2, () => res.write(token(i++) + token(i++)));
    res.on('close', () => clearInterval(t));
  },
  // An event stream that never ends and never carries a token (SSE comments).
  'endless-comments': (res) => {
    sseHead(res);
    const t = every(20, () => res.write(': keep-alive\n\n'));
    res.on('close', () => clearInterval(t));
  },
  // Not HTTP at all.
  garbage: (_res, req) => {
    req.socket.end('\x00\x01 this is not HTTP \xff\xfe\r\n\r\n');
  },
  // HTTP and an event stream, but the events are not JSON.
  'garbage-events': (res) => {
    sseHead(res);
    res.end(`${role()}data: {"choices": [{"index": 0, "delta": {"content": "a"}, !!!}\n\ndata: [DONE]\n\n`);
  },
  // A finished trace (finish chunk) whose connection ends before usage and [DONE].
  'finish-then-end': (res) => {
    sseHead(res);
    res.end(role() + token(0) + token(1) + finish(2));
  },
  'finish-then-reset': (res, req) => {
    sseHead(res);
    res.write(role() + token(0) + token(1) + finish(2), () => setTimeout(() => req.socket.resetAndDestroy(), 50));
  },
  // vLLM before 0.10.1: a flat error body.
  'flat-400': (res) => {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        object: 'error',
        message: "This model's maximum context length is 4096 tokens. However, you requested 9000 tokens.",
        type: 'BadRequestError',
        param: null,
        code: 400,
      }),
    );
  },
  // A server error on every request.
  'always-500': (res) => {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: 'engine busy', type: 'InternalServerError', param: null, code: 500 } }));
  },
};

const server = createServer((req, res) => {
  const [, mode, ...rest] = (req.url ?? '').split('/');
  if (req.method === 'GET' && rest[0] === 'count') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(Object.fromEntries(counts)));
    return;
  }
  const handler = modes[mode];
  if (req.method !== 'POST') {
    // /health and the like: healthy, and not counted (only generation requests are).
    res.writeHead(handler === undefined ? 404 : 200).end();
    return;
  }
  if (handler === undefined) {
    res.writeHead(404).end();
    return;
  }
  counts.set(mode, (counts.get(mode) ?? 0) + 1);
  req.resume();
  req.on('end', () => handler(res, req));
});
server.on('connection', (s) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
process.stdin.resume();
process.stdin.on('end', () => {
  for (const t of timers) clearInterval(t);
  for (const s of sockets) s.destroy();
  server.close(() => process.exit(0));
});
