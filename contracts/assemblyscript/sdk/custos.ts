// Custos contract SDK for AssemblyScript: the host interface (import module "custos", see docs/contracts.md) and
// small helpers over it. Integers only: the pre-deployment checks refuse any floating-point type or instruction.

@external("custos", "input_size") declare function input_size(): i32;
@external("custos", "input_read") declare function input_read(pointer: usize): void;
@external("custos", "output") declare function output(pointer: usize, length: i32): void;
@external("custos", "state_get") declare function state_get(key: usize, keyLength: i32, value: usize, valueCapacity: i32): i32;
@external("custos", "state_put") declare function state_put(key: usize, keyLength: i32, value: usize, valueLength: i32): void;
@external("custos", "state_delete") declare function state_delete(key: usize, keyLength: i32): void;
@external("custos", "state_next") declare function state_next(start: usize, startLength: i32, end: usize, endLength: i32, out: usize, outCapacity: i32): i32;
@external("custos", "caller_account") declare function caller_account(pointer: usize): void;
@external("custos", "caller_role") declare function caller_role(): i32;
@external("custos", "block_height") declare function block_height(): i64;
@external("custos", "block_time") declare function block_time(): i64;
@external("custos", "emit") declare function emit(name: usize, nameLength: i32, data: usize, dataLength: i32): void;
@external("custos", "fail") declare function fail_(code: i32, message: usize, messageLength: i32): void;

export const ACCOUNT_BYTES: i32 = 16;

/** Account types (caller_role). */
export const ROLE_ORDINARY: i32 = 1;
export const ROLE_ADMINISTRATOR: i32 = 2;
export const ROLE_SPECIAL_PRIVILEGE: i32 = 3;

/** Error codes a contract may fail with (the chain's ErrorCode values). */
export const INVALID_ARGUMENTS: i32 = 702;
export const PERMISSION_DENIED: i32 = 704;
export const INSUFFICIENT_FUNDS: i32 = 705;

/** The call's arguments. */
export function input(): Uint8Array {
  const bytes = new Uint8Array(input_size());
  input_read(bytes.dataStart);
  return bytes;
}

export function setOutput(bytes: Uint8Array): void {
  output(bytes.dataStart, bytes.length);
}

/** The value of a key of this contract, or null. */
export function get(key: Uint8Array): Uint8Array | null {
  const buffer = new Uint8Array(256);
  const length = state_get(key.dataStart, key.length, buffer.dataStart, buffer.length);
  if (length < 0) return null;
  if (length <= buffer.length) return buffer.subarray(0, length);
  const whole = new Uint8Array(length);
  state_get(key.dataStart, key.length, whole.dataStart, whole.length);
  return whole;
}

export function put(key: Uint8Array, value: Uint8Array): void {
  state_put(key.dataStart, key.length, value.dataStart, value.length);
}

export function remove(key: Uint8Array): void {
  state_delete(key.dataStart, key.length);
}

/** The smallest key at or after start (no upper bound), or null. */
export function next(start: Uint8Array): Uint8Array | null {
  const buffer = new Uint8Array(256);
  const length = state_next(start.dataStart, start.length, 0, -1, buffer.dataStart, buffer.length);
  return length < 0 ? null : buffer.subarray(0, length);
}

export function getU64(key: Uint8Array): u64 {
  const value = new Uint8Array(8);
  return state_get(key.dataStart, key.length, value.dataStart, 8) < 0 ? 0 : load<u64>(value.dataStart);
}

export function putU64(key: Uint8Array, amount: u64): void {
  const value = new Uint8Array(8);
  store<u64>(value.dataStart, amount);
  state_put(key.dataStart, key.length, value.dataStart, 8);
}

/** The sending account's 16-byte id. */
export function caller(): Uint8Array {
  const id = new Uint8Array(ACCOUNT_BYTES);
  caller_account(id.dataStart);
  return id;
}

export function callerRole(): i32 {
  return caller_role();
}

export function height(): u64 {
  return <u64>block_height();
}

export function timeMs(): u64 {
  return <u64>block_time();
}

/** ASCII text as bytes (names, keys, messages). */
export function ascii(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = <u8>text.charCodeAt(i);
  return bytes;
}

export function event(name: string, data: Uint8Array): void {
  const bytes = ascii(name);
  emit(bytes.dataStart, bytes.length, data.dataStart, data.length);
}

/** Ends the call with a typed failure: every change of the transaction is rolled back. */
export function fail(code: i32, message: string): void {
  const bytes = ascii(message);
  fail_(code, bytes.dataStart, bytes.length);
  unreachable();
}

/** Used for AssemblyScript's abort (asconfig "use"): a failed assertion traps without importing env.abort. */
export function abortContract(message: usize, fileName: usize, line: u32, column: u32): void {
  unreachable();
}
