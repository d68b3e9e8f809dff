// Errors are values: `code` is stable for programs to test, `message` says what to fix.
// A plain Error with a code, because `class X extends Error` loses its message on Espruino.
export interface CodedError extends Error {
  code: string;
}

export function codedError(code: string, message: string): CodedError {
  const e = new Error(message) as CodedError;
  e.code = code;
  return e;
}
