/** A request that can never be read: answered 400 with `message` as the one-line reason. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}
