// Requests Fastify refuses before routing (a malformed percent-encoding, a path parameter
// over the router's length limit) get the API's error shape too, not Fastify's own.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

const CODES: Record<string, string> = {
  FST_ERR_BAD_URL: 'bad_url',
  FST_ERR_MAX_PARAM_LENGTH: 'path_parameter_too_long',
};

const MESSAGES: Record<string, string> = {
  FST_ERR_BAD_URL: 'The URL is not validly percent-encoded.',
  FST_ERR_MAX_PARAM_LENGTH: 'A path parameter is too long.',
};

export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  void reply.code(status).send({
    error: {
      code: CODES[err.code] ?? 'bad_request',
      message: MESSAGES[err.code] ?? 'The request could not be routed.',
      details: null,
    },
  });
}
