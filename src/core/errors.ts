// Errors that describe a user's mistake (bad data, bad config): the CLI prints their message
// alone, naming the file and field, without a stack trace.

export class DataError extends Error {
  readonly userError = true;
  constructor(message: string, readonly file?: string, readonly field?: string) {
    super(message);
    this.name = 'DataError';
  }
}

export class ConfigError extends Error {
  readonly userError = true;
  constructor(message: string, readonly field?: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function isUserError(e: unknown): e is Error {
  return typeof e === 'object' && e !== null && (e as { userError?: unknown }).userError === true;
}
