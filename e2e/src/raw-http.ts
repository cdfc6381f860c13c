// Plain HTTP/1.1 requests with nothing done for the caller (no decompression, no retries), for
// tests that look at the wire: status, headers, bytes, what happens to the connection.
import { request, type Agent, type IncomingHttpHeaders } from "node:http";
import { connect } from "node:net";

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; agent?: Agent } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? "GET", headers: options.headers, agent: options.agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

export const json = (response: RawResponse) => JSON.parse(response.body.toString("utf8")) as Record<string, any>;

export interface UploadOutcome {
  /** Every byte of the body was handed to the kernel without an error. */
  bodyWritten: boolean;
  bytesWritten: number;
  /** The status line and headers, lower-cased names. */
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The socket's error, if any (EPIPE, ECONNRESET). */
  error?: string;
}

/**
 * A client that writes a whole request body of `size` bytes (Content-Length or chunked) whatever
 * the server answers meanwhile, as naive clients do, reading as it goes; then ends its side and
 * waits for the server to close. Half-open: the server's FIN does not stop it writing.
 */
export async function uploadWholeBody(
  url: string,
  options: { size: number; chunked?: boolean; contentType?: string; headers?: Record<string, string> },
): Promise<UploadOutcome> {
  const target = new URL(url);
  const socket = connect({ port: Number(target.port), host: target.hostname, allowHalfOpen: true });
  const chunks: Buffer[] = [];
  let error: string | undefined;
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.on("error", (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  const framing = options.chunked ? "Transfer-Encoding: chunked" : `Content-Length: ${options.size}`;
  const extra = Object.entries(options.headers ?? {})
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("");
  const contentType = `Content-Type: ${options.contentType ?? "application/json"}\r\n`;
  socket.write(`POST ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\n${contentType}${extra}${framing}\r\n\r\n`);
  const piece = Buffer.alloc(64 * 1024, "a");
  const write = (data: Buffer) => new Promise<boolean>((resolve) => socket.write(data, (e) => resolve(!e)));
  let bytesWritten = 0;
  let bodyWritten = true;
  while (bytesWritten < options.size) {
    const part = piece.subarray(0, Math.min(piece.length, options.size - bytesWritten));
    const framed = options.chunked
      ? Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from("\r\n")])
      : part;
    if (!(await write(framed))) {
      bodyWritten = false;
      break;
    }
    bytesWritten += part.length;
  }
  if (bodyWritten && options.chunked) bodyWritten = await write(Buffer.from("0\r\n\r\n"));
  socket.end();
  await closed;
  const text = Buffer.concat(chunks).toString("latin1");
  const [head = "", ...rest] = text.split("\r\n\r\n");
  const [statusLine = "", ...headerLines] = head.split("\r\n");
  const headers = Object.fromEntries(
    headerLines.map((line) => {
      const colon = line.indexOf(":");
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
    }),
  );
  const status = Number(statusLine.split(" ")[1] ?? 0);
  return { bodyWritten, bytesWritten, status, headers, body: rest.join("\r\n\r\n"), ...(error ? { error } : {}) };
}
