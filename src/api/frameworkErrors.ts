// Requests Fastify refuses before routing (a malformed percent-encoding, a path parameter
// over the router's length limit) get the API's error shape too, not Fastify's own; so do the
// errors Fastify raises inside a route (an unsupported content type, a bad Content-Length):
// their FST_ERR_* codes are Fastify's internals and never reach a client.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

interface Known {
  status: number;
  code: string;
  message: string;
}

const KNOWN: Record<string, Known> = {
  FST_ERR_BAD_URL: { status: 400, code: 'bad_url', message: 'The URL is not validly percent-encoded.' },
  FST_ERR_MAX_PARAM_LENGTH: {
    status: 400,
    code: 'path_parameter_too_long',
    message: 'A path parameter is too long.',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'unsupported_media_type',
    message: 'Send the body as JSON, with "Content-Type: application/json".',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    code: 'bad_content_length',
    message: 'The Content-Length header does not match the body.',
  },
  FST_ERR_CTP_INVALID_TYPE: {
    status: 400,
    code: 'bad_content_type',
    message: 'The Content-Type header is not valid.',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    code: 'body_too_large',
    message: 'The request body is too large.',
  },
};

/**
 * The API's status, code and message for a 4xx error Fastify raised, or undefined for an
 * error that is not Fastify's 4xx. An unknown FST code becomes `bad_request`, never itself.
 */
export function frameworkError(err: FastifyError): Known | undefined {
  const known = KNOWN[err.code];
  if (known) return known;
  const status = err.statusCode;
  if (status === undefined || status < 400 || status >= 500) return undefined;
  const internal = err.code === undefined || err.code.startsWith('FST_');
  return {
    status,
    code: internal ? 'bad_request' : err.code.toLowerCase(),
    message: err.message,
  };
}

export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const known = KNOWN[err.code];
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  void reply.code(known?.status ?? status).send({
    error: {
      code: known?.code ?? 'bad_request',
      message: known?.message ?? 'The request could not be routed.',
      details: null,
    },
  });
}
