// Every Tidings error answer is {"error": {"code", "message", "details"}}; the client throws
// it as a TidingsError whose `code` is typed by the operation's documented codes.

/** The error body of an answer. */
export interface ErrorBody<C extends string = string> {
  error: { code: C; message: string; details: unknown };
}

/** The codes an error body type allows. */
export type CodeOf<E> = E extends { error: { code: infer C } } ? (C extends string ? C : string) : string;

export class TidingsError<C extends string = string> extends Error {
  readonly code: C;
  readonly details: unknown;
  constructor(
    readonly status: number,
    body: ErrorBody<C> | undefined,
    readonly response: Response,
  ) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.name = 'TidingsError';
    this.code = body?.error?.code ?? (`http_${status}` as C);
    this.details = body?.error?.details ?? null;
  }
}
