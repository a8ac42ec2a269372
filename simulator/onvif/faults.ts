/**
 * Fault injection (OnvifDeviceOptions.faults) and the small HTTP response
 * helpers the device uses. The agent's error tests (a later issue) flip a
 * running device into each mode and check that the agent reports an error
 * instead of hanging or crashing.
 */
import type http from 'node:http';
import { SOAP_CONTENT_TYPE, faults } from './soap.js';
import type { FaultMode } from './types.js';

const MAX_BODY = 256 * 1024;

/** Applies the fault mode; true when the response was taken over. */
export function injectFault(mode: FaultMode, res: http.ServerResponse, kind: 'soap' | 'snapshot'): boolean {
  switch (mode) {
    case 'none':
      return false;
    case 'timeout':
      return true; // never answered; stop() closes the connection
    case 'http-500':
      plain(res, 500, '<html><body><h1>500 Internal Server Error</h1></body></html>', {
        'Content-Type': 'text/html',
      });
      return true;
    case 'soap-fault':
      if (kind === 'snapshot') plain(res, 500, 'snapshot failed');
      else send(res, 500, faults.actionFailed('Simulated device failure (fault injection)').toXml());
      return true;
    case 'malformed-xml':
      if (kind === 'snapshot') return false; // truncated JPEG, see snapshot()
      send(
        res,
        200,
        `<?xml version="1.0"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><tds:Get`,
      );
      return true;
  }
}

export function send(
  res: http.ServerResponse,
  status: number,
  xml: string,
  headers: http.OutgoingHttpHeaders = {},
): void {
  res.writeHead(status, {
    'Content-Type': SOAP_CONTENT_TYPE,
    'Content-Length': Buffer.byteLength(xml),
    ...headers,
  });
  res.end(xml);
}

export function plain(
  res: http.ServerResponse,
  status: number,
  body: string,
  headers: http.OutgoingHttpHeaders = {},
): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/** The request body, or undefined when it exceeds MAX_BODY (SOAP requests are small). */
export async function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
