import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type SeenRequest = { method: string; path: string; headers: IncomingMessage['headers'] };
export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

/** A loopback HTTP server that records every request; closes itself when the test calls close(). */
export async function startFakeHub(
  handler: Handler,
): Promise<{ url: string; requests: SeenRequest[]; close: () => Promise<void> }> {
  const requests: SeenRequest[] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers });
    handler(req, res, new URL(req.url ?? '/', 'http://127.0.0.1'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Serves `body` like the hub's CDN: honours `Range: bytes=N-` / `bytes=N-M` unless told not to. */
export function serveBytes(
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  options: { honorRange?: boolean; headers?: Record<string, string> } = {},
): void {
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const extra = options.headers ?? {};
  if (range && options.honorRange !== false) {
    const start = Number(range[1]);
    const end = range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
    if (start >= body.length) {
      res.writeHead(416, { 'content-range': `bytes */${body.length}`, ...extra });
      res.end();
      return;
    }
    res.writeHead(206, {
      'content-range': `bytes ${start}-${end}/${body.length}`,
      'content-length': String(end - start + 1),
      ...extra,
    });
    res.end(body.subarray(start, end + 1));
    return;
  }
  res.writeHead(200, { 'content-length': String(body.length), ...extra });
  res.end(body);
}
