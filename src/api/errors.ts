// Every error leaves the API as {"error": {"code", "message", "details"}} with a fitting status.
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const notFound = (what: string, id: string) =>
  new ApiError(404, `${what.replace(/ /g, '_')}_not_found`, `No ${what} with id "${id}".`);

export const badRequest = (code: string, message: string, details: unknown = null) =>
  new ApiError(400, code, message, details);

export const unprocessable = (code: string, message: string, details: unknown = null) =>
  new ApiError(422, code, message, details);

export const conflict = (code: string, message: string, details: unknown = null) =>
  new ApiError(409, code, message, details);
