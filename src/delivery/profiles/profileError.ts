/**
 * The event cannot be put on the wire in this profile (a payload that is not an object for
 * a flat body, a type name without a topic). Retrying cannot help: the sender should record
 * the message on the attempt and fail the delivery at once.
 */
export class ProfileError extends Error {
  constructor(
    readonly profile: string,
    message: string,
  ) {
    super(`${profile} profile: ${message}`);
    this.name = 'ProfileError';
  }
}
